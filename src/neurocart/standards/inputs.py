"""The shared shape of calculator inputs: strict pydantic models plus cross-field checks.

A calculator's input model subclasses `CalcInput` (unknown fields forbidden, no silent type
coercion of strings into numbers or booleans) and declares its fields with `field()`, which
records the unit beside the range so that help texts, forms and errors are generated from one
definition. Rules that involve several fields are `Check`s: written once with numpy
operations, they are evaluated on a single input (as 0-d arrays) and on a whole frame alike.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from neurocart.standards.errors import WHOLE_NUMBER_OF

if TYPE_CHECKING:  # numpy is imported where an input is checked: importing the models of the
    import numpy as np  # calculators a face shows (their fields, their choices) does not load it
    import numpy.typing as npt

Columns = Mapping[str, "npt.NDArray[Any]"]
"""Validated inputs as arrays: float64 for numbers (NaN when absent), bool, or str objects."""


class CalcInput(BaseModel):
    """Base of every calculator input model."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _whole_number_choices(cls, value: Any, info: ValidationInfo) -> Any:
        """Points chosen from a set of integers must be integers.

        pydantic's Literal check compares by equality, so `True` would pass as 1 and `3.0` as
        3 even in strict mode; a points field must receive the number itself.
        """
        choices = _field_integer_choices(cls, info.field_name or "")
        if choices and value is not None and type(value) is not int:
            raise ValueError(WHOLE_NUMBER_OF(choices=", ".join(str(c) for c in choices)))
        return value


@cache
def _field_integer_choices(model: type[BaseModel], name: str) -> tuple[int, ...]:
    """`integer_choices` of a model's field, worked out once (the validator runs per value)."""
    return integer_choices(model.model_fields[name].annotation)


def integer_choices(annotation: Any) -> tuple[int, ...]:
    """The allowed values of a `Literal[int, ...]` (or `... | None`) annotation, else ()."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is not typing.Literal:
        inner = [a for a in args if a is not type(None)]
        return integer_choices(inner[0]) if len(inner) == 1 else ()
    return args if args and all(type(a) is int for a in args) else ()


def field(
    default: Any = ...,
    *,
    description: str,
    unit: str | None = None,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
) -> Any:
    """Declare an input field with its meaning, unit and allowed range."""
    extra: dict[str, Any] = {"unit": unit} if unit else {}
    return Field(
        default,
        description=description,
        ge=ge,
        le=le,
        gt=gt,
        lt=lt,
        json_schema_extra=extra or None,
    )


@dataclass(frozen=True)
class Check:
    """A rule over several fields that makes an input inconsistent.

    `violated` receives the validated columns (0-d arrays for one input, 1-d for a frame)
    and returns a boolean array, true where the input is inconsistent. `field` is the field
    the error names; `message` says what is wrong and what is expected.
    """

    field: str
    message: str
    violated: Callable[[Columns], npt.NDArray[np.bool_] | np.bool_ | bool]


def as_columns(model: BaseModel) -> dict[str, npt.NDArray[Any]]:
    """One validated input as 0-d arrays, so that a `Check` can be evaluated on it."""
    import numpy as np

    cols: dict[str, npt.NDArray[Any]] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            cols[name] = np.asarray(np.nan)
        elif isinstance(value, bool | str):
            cols[name] = np.asarray(value)
        elif isinstance(value, int | float):
            cols[name] = np.asarray(float(value))
        elif isinstance(value, list | tuple):  # items one by one: numpy would probe each
            items = np.empty(len(value), dtype=object)  # item (a model) as a sequence
            for i, item in enumerate(value):
                items[i] = item
            cols[name] = items
        else:
            cols[name] = np.asarray(value, dtype=object)
    return cols
