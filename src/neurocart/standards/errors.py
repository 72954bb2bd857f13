"""Errors raised by the calculator layer; every one names the field at fault."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from neurocart.standards.reason import Items, Reason

_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}

# The messages of input errors, as message keys (`neurocart.standards.reason`): a face shows
# them in the reader's language. The English text is what the error carries and the API says.
BOUNDED = Reason("{bound} {unit}", patterns={"unit": "study day|days|day|years|×10⁹/L or g/L"})
"""An allowed range with a unit that is a word ("0–730 days")."""
MUST_BE = Reason("must be {expected}", lists={"expected": Items(" and ")})
MUST_BE_ONE_OF = Reason("must be one of {choices}", lists={"choices": Items(", ")})
SHOULD_BE_ONE_OF = Reason("Input should be {choices} or {last}", lists={"choices": Items(", ")})
"""pydantic's message for a value outside a set of choices."""
SHOULD_BE_MODEL = Reason(
    "Input should be a valid dictionary or instance of {model}", patterns={"model": r"\w+"}
)
WHOLE_NUMBER_OF = Reason(
    "expected a whole number, one of {choices}", lists={"choices": Items(", ")}
)
NOT_STORABLE = Reason(
    "answers with a category or with no value, so it cannot be stored as a scored assessment "
    "(got {value})"
)
UNKNOWN_CALCULATOR = Reason("unknown calculator {name}; known: {known}")
NOT_VECTORIZED = Reason(
    "calculator {name} takes lists or nested objects, which do not fit in table columns; call "
    "calculate() once per input"
)
UNKNOWN_FIELD = "unknown field"
NOT_AN_OBJECT = "expected an object of named fields"
WORDS = (
    UNKNOWN_FIELD,
    NOT_AN_OBJECT,
    "Field required",
    "Input should be a valid boolean",
    "Input should be a valid date",
    "Input should be a valid integer",
    "Input should be a valid list",
    "Input should be a valid number",
    "Input should be a valid string",
    "field required",
    "field required (empty cell)",
    "expected a number",
    "expected a number, got booleans",
    "expected a whole number",
    "expected true or false",
    "cannot be given in a table column",
    "true or false",
    "any",
    "study day",
    "days",
    "day",
    "years",
    "×10⁹/L or g/L",
)
"""Fixed messages of input errors (pydantic's and neurocart's), for the catalogues
(`locale/sources.toml`); a unit that is a word is listed there too."""


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
                message = UNKNOWN_FIELD
            elif e["type"] in _RANGE_ERRORS and expected:
                pattern = ".".join("*" if isinstance(x, int) else str(x) for x in e["loc"])
                if pattern in expected:
                    message = MUST_BE(expected=expected[pattern])
            problems.append(FieldProblem(loc, message, got))
        return cls(calculator, problems)


class UnknownCalculatorError(KeyError):
    """No calculator of that name is registered."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        super().__init__(UNKNOWN_CALCULATOR(name=repr(name), known=", ".join(sorted(known))))

    def __str__(self) -> str:
        return str(self.args[0])


class NotVectorizedError(TypeError):
    """The calculator grades a series (e.g. an ANC time course), not independent rows."""
