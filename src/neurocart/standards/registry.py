"""The calculator registry: one entry per published instrument, and the two ways to call it.

`calculate(name, inputs)` grades one input and explains itself; `calculate_frame(name, df)`
grades a whole table with numpy and must agree with `calculate` on every row (a property
test holds each calculator to that).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import ValidationError

from neurocart.standards.errors import (
    NOT_AN_OBJECT,
    NOT_STORABLE,
    NOT_VECTORIZED,
    CalculatorInputError,
    FieldProblem,
    NotVectorizedError,
    UnknownCalculatorError,
)
from neurocart.standards.fields import FieldSpec, field_specs, walk_fields
from neurocart.standards.inputs import CalcInput, Check, Columns, as_columns
from neurocart.standards.result import Result

if TYPE_CHECKING:  # numpy and pandas are imported where they are used: importing the
    import numpy.typing as npt  # registry (the API's start-up) loads neither
    import pandas as pd

M = TypeVar("M", bound=CalcInput)


@dataclass(frozen=True)
class Grading:
    """What a calculator function returns; the registry adds name and citation."""

    value: int | float | str | None
    label: str
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


Vectorized = Callable[[Columns], tuple["npt.NDArray[Any]", "npt.NDArray[Any]"]]
"""Grades validated columns; returns (values, labels) arrays of the frame's length."""


@dataclass(frozen=True)
class Calculator(Generic[M]):
    """A registered instrument: its input model, its pure function and its source."""

    name: str
    title: str
    citation: str
    input_model: type[M]
    function: Callable[[M], Grading]
    vectorized: Vectorized | None = None
    checks: tuple[Check, ...] = ()

    @property
    def fields(self) -> list[FieldSpec]:
        return field_specs(self.input_model)

    def parse(self, inputs: Mapping[str, Any]) -> M:
        """Validate one input: types, ranges, choices, then the cross-field checks."""
        if not isinstance(inputs, Mapping):
            raise CalculatorInputError(self.name, [FieldProblem("(input)", NOT_AN_OBJECT, inputs)])
        try:
            model = self.input_model.model_validate(dict(inputs))
        except ValidationError as exc:
            expected = {s.name: s.expected for s in walk_fields(self.fields)}
            raise CalculatorInputError.from_validation_error(self.name, exc, expected) from None
        if self.checks:
            import numpy as np

            cols = as_columns(model)
            problems = [
                FieldProblem(c.field, c.message, inputs.get(c.field))
                for c in self.checks
                if bool(np.asarray(c.violated(cols)))
            ]
            if problems:
                raise CalculatorInputError(self.name, problems)
        return model

    def __call__(self, inputs: Mapping[str, Any] | M) -> Result:
        model = inputs if isinstance(inputs, self.input_model) else self.parse(inputs)  # type: ignore[arg-type]
        graded = self.function(model)
        return Result(
            calculator=self.name,
            value=graded.value,
            label=graded.label,
            reasons=graded.reasons,
            citation=self.citation,
            warnings=graded.warnings,
            details=graded.details,
        )

    def columns(self, frame: pd.DataFrame) -> Columns:
        """The columns of `frame` validated as `parse` validates one input (vectorized), as the
        vectorized path reads them; CalculatorInputError naming every problem."""
        from neurocart.standards.frame import frame_columns

        cols, problems = frame_columns(self.name, self.fields, self.checks, frame)
        if problems:
            raise CalculatorInputError(self.name, problems)
        return cols

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Grade every row of `frame`; returns `value` and `label` columns on its index."""
        import pandas as pd

        if self.vectorized is None:
            raise NotVectorizedError(NOT_VECTORIZED(name=repr(self.name)))
        values, labels = self.vectorized(self.columns(frame))
        return pd.DataFrame({"value": values, "label": labels}, index=frame.index)


MODULES: dict[str, str] = {
    "antibody_level": "antibody_level",
    "arr": "arr",
    "car_hematotox": "car_hematotox",
    "cidp_ncs_ean_pns_2021": "cidp_ncs_ean_pns_2021",
    "crs": "crs",
    "ctcae_lab": "ctcae_lab",
    "disability_change": "disability_change",
    "easix": "easix",
    "m_easix": "easix",
    "edss": "edss",
    "icaht": "icaht",
    "icans": "icans",
    "ice": "ice",
    "iec_hs": "iec_hs",
    "igg_if": "igg_if",
    "igg_index": "igg_index",
    "imacs_tis": "imacs_tis",
    "incat": "incat",
    "irods_raw": "irods_raw",
    "kflc_index": "kflc_index",
    "mg_adl": "mg_adl",
    "mg_composite": "mg_composite",
    "mrc_sum": "mrc_sum",
    "mri_activity": "mri_activity",
    "neda3": "neda3",
    "ocb_pattern": "ocb_pattern",
    "qalb": "qalb",
    "qmg": "qmg",
    "reibergram_igg": "reibergram_igg",
    "timed_change": "timed_change",
    "titre_change": "titre_change",
}
"""Every calculator's name and the module of `neurocart.standards` that registers it, in
the order the registry lists them. Written out, not found by importing the package: the 31
modules and their 42 input models cost a tenth of a second, which the API's start-up need
not pay for calculators a server may never call (tests/standards/test_registry.py holds this
table to the modules)."""


class Registry(Mapping[str, Calculator[Any]]):
    """Every calculator by name (`MODULES`): listing and looking names up imports nothing; a
    calculator's module is imported, and so registers it, when it is first read."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = modules
        self._loaded: dict[str, Calculator[Any]] = {}

    def __getitem__(self, name: str) -> Calculator[Any]:
        loaded = self._loaded.get(name)
        if loaded is not None:
            return loaded
        module = self._modules[name]  # KeyError for a name no module registers
        importlib.import_module(f"{__package__}.{module}")
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def add(self, calculator: Calculator[Any]) -> None:
        """Register `calculator` (by its module, as it is imported)."""
        if calculator.name in self._loaded:
            raise ValueError(f"calculator {calculator.name!r} registered twice")
        if calculator.name not in self._modules:
            raise ValueError(f"calculator {calculator.name!r} is missing from MODULES")
        self._loaded[calculator.name] = calculator


REGISTRY = Registry(MODULES)
"""Every calculator by name."""


def register(
    *,
    name: str,
    title: str,
    citation: str,
    input_model: type[M],
    vectorized: Vectorized | None = None,
    checks: tuple[Check, ...] = (),
) -> Callable[[Callable[[M], Grading]], Callable[[M], Grading]]:
    """Register the decorated pure function as calculator `name`."""

    def decorate(function: Callable[[M], Grading]) -> Callable[[M], Grading]:
        REGISTRY.add(
            Calculator(
                name=name,
                title=title,
                citation=citation,
                input_model=input_model,
                function=function,
                vectorized=vectorized,
                checks=checks,
            )
        )
        return function

    return decorate


def get(name: str) -> Calculator[Any]:
    """The calculator called `name`, or an error listing the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownCalculatorError(name, list(REGISTRY)) from None


def calculate(name: str, inputs: Mapping[str, Any]) -> Result:
    """Grade one input with calculator `name`."""
    return get(name)(inputs)


def stored_number(result: Result) -> float:
    """The value of a result that is stored as a number (a scored assessment).

    A calculator that answers with a category ("active") or with none (no confirmed change)
    cannot be stored in a numeric column: CalculatorInputError naming `instrument`, so the
    caller refuses the input (422) rather than failing.
    """
    try:
        return result.number
    except TypeError:
        raise CalculatorInputError(
            result.calculator,
            [FieldProblem("instrument", NOT_STORABLE(value=repr(result.value)), result.calculator)],
        ) from None


def calculate_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Grade every row of `frame` (one column per field) with calculator `name`, vectorized."""
    return get(name).frame(frame)
