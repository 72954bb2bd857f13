"""The calculator registry: one entry per published instrument, and the two ways to call it.

`calculate(name, inputs)` grades one input and explains itself; `calculate_frame(name, df)`
grades a whole table with numpy and must agree with `calculate` on every row (a property
test holds each calculator to that).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
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
from neurocart.standards.frame import frame_columns
from neurocart.standards.inputs import CalcInput, Check, Columns, as_columns
from neurocart.standards.result import Result

if TYPE_CHECKING:  # pandas is imported where it is used: importing the calculators
    import pandas as pd  # (the API's start-up) does not load it

M = TypeVar("M", bound=CalcInput)


@dataclass(frozen=True)
class Grading:
    """What a calculator function returns; the registry adds name and citation."""

    value: int | float | str | None
    label: str
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


Vectorized = Callable[[Columns], tuple[npt.NDArray[Any], npt.NDArray[Any]]]
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


REGISTRY: dict[str, Calculator[Any]] = {}
"""Every registered calculator by name."""


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
        if name in REGISTRY:
            raise ValueError(f"calculator {name!r} registered twice")
        REGISTRY[name] = Calculator(
            name=name,
            title=title,
            citation=citation,
            input_model=input_model,
            function=function,
            vectorized=vectorized,
            checks=checks,
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
