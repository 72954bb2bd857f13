"""Published clinical standards as exact, explainable calculators.

    >>> from neurocart.standards import calculate
    >>> calculate("crs", {"temperature_c": 38.6, "hypotension": True, "vasopressors": 1}).value
    3

Every module here but the framework (`registry`, `inputs`, `fields`, `frame`, `result`,
`errors`) holds one instrument and names its publication in its docstring. Importing this
package registers them all. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import importlib
import pkgutil

from neurocart.standards.errors import (
    CalculatorInputError,
    FieldProblem,
    NotVectorizedError,
    UnknownCalculatorError,
)
from neurocart.standards.registry import (
    REGISTRY,
    Calculator,
    Grading,
    calculate,
    calculate_frame,
    get,
    register,
)
from neurocart.standards.result import Result

_FRAMEWORK = {"errors", "fields", "frame", "inputs", "registry", "result"}


def _register_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _FRAMEWORK and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_register_all()

__all__ = [
    "REGISTRY",
    "Calculator",
    "CalculatorInputError",
    "FieldProblem",
    "Grading",
    "NotVectorizedError",
    "Result",
    "UnknownCalculatorError",
    "calculate",
    "calculate_frame",
    "get",
    "register",
]
