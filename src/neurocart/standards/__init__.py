"""Published clinical standards as exact, explainable calculators.

    >>> from neurocart.standards import calculate
    >>> calculate("crs", {"temperature_c": 38.6, "hypotension": True, "vasopressors": 1}).value
    3

Every module here but the framework (`registry`, `inputs`, `fields`, `frame`, `result`,
`errors`) holds one instrument and names its publication in its docstring. The registry
lists them all (`registry.MODULES`); a calculator's module is imported when the calculator is
first used. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from neurocart.standards.errors import (
    CalculatorInputError,
    FieldProblem,
    NotVectorizedError,
    UnknownCalculatorError,
)
from neurocart.standards.registry import (
    MODULES,
    REGISTRY,
    Calculator,
    Grading,
    calculate,
    calculate_frame,
    get,
    register,
)
from neurocart.standards.result import Result

__all__ = [
    "MODULES",
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
