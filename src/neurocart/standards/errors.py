"""Errors raised by the calculator layer; every one names the field at fault."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with the input: where, what was expected, what came."""

    field: str
    message: str
    got: Any = None
    row: int | None = None

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row is not None else ""
        got = "" if self.got is None else f" (got {reprlib.repr(self.got)})"
        return f"{where}{self.field}: {self.message}{got}"


class CalculatorInputError(ValueError):
    """Input that a calculator cannot grade. Nothing was computed."""

    def __init__(self, calculator: str, problems: Sequence[FieldProblem]) -> None:
        self.calculator = calculator
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid input for calculator {calculator!r}:\n{lines}")

    @property
    def fields(self) -> list[str]:
        """The names of the offending fields, in order."""
        return [p.field for p in self.problems]

    @classmethod
    def from_validation_error(
        cls,
        calculator: str,
        error: ValidationError,
        expected: Mapping[str, str] | None = None,
    ) -> CalculatorInputError:
        """Translate pydantic's errors; `expected` maps a field to its allowed range in words."""
        problems = []
        for e in error.errors(include_url=False):
            loc = ".".join(str(x) for x in e["loc"]) or "(input)"
            message = e["msg"].removeprefix("Value error, ")
            got = e.get("input") if e["type"] not in {"missing", "extra_forbidden"} else None
            if e["type"] == "extra_forbidden":
                message = "unknown field"
            elif e["type"] in _RANGE_ERRORS and expected:
                pattern = ".".join("*" if isinstance(x, int) else str(x) for x in e["loc"])
                if pattern in expected:
                    message = f"must be {expected[pattern]}"
            problems.append(FieldProblem(loc, message, got))
        return cls(calculator, problems)


class UnknownCalculatorError(KeyError):
    """No calculator of that name is registered."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        super().__init__(f"unknown calculator {name!r}; known: {', '.join(sorted(known))}")

    def __str__(self) -> str:
        return str(self.args[0])


class NotVectorizedError(TypeError):
    """The calculator grades a series (e.g. an ANC time course), not independent rows."""
