"""Errors of observation ingest. Each names the one field at fault, what was expected, what came.

They derive from ValueError so a caller that only knows "bad input" catches them; the API maps
every ObservationError to 422 with `field` in the error location. Nothing was normalized (and
nothing may be stored) for a row that raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UNKNOWN_CODE = "unknown observation code in {system}"
CODE_ELSEWHERE = "code {given} is not in {system}; it belongs to {systems}"
NOT_CONVERTIBLE = "cannot be converted to {unit} for {display} ({code}); accepted: {accepted}"
FINITE = "must be a finite number"
CODED_VALUE = "must be {alternatives} for {display} ({code})"
BINARY_VALUE = "must be {alternatives} for {display} ({code}) (0 negative, 1 positive)"
OUTSIDE_RANGE = (
    "{shown} is outside the physiologically possible range {range} for {display} ({code})"
)
WRONG_SPECIMEN = "{display} ({code}) is not measured in {specimen}; allowed: {allowed}"
NEEDS_ZONE = "must include a time zone (e.g. 2025-03-01T08:00:00Z)"
OUT_OF_DATES = "is outside the range of dates once converted to UTC"
NOT_A_BOOLEAN = "must be a number, not true/false"
UNKNOWN_FIELD = "unknown field"
NOT_AN_OBJECT = "must be an object with the observation fields, not {kind}"
MESSAGES = (
    UNKNOWN_CODE, CODE_ELSEWHERE, NOT_CONVERTIBLE, FINITE, CODED_VALUE, BINARY_VALUE,
    OUTSIDE_RANGE,
    WRONG_SPECIMEN, NEEDS_ZONE, OUT_OF_DATES, NOT_A_BOOLEAN, UNKNOWN_FIELD, NOT_AN_OBJECT,
)  # fmt: skip
"""The ingest's problems as message keys with named fields (like
`neurocart.store.errors.MESSAGES`): the English the API serves is `key.format(...)`; a face
says it in its reader's language (`neurocart.i18n.error_text`). `display` is the catalogue
name of the code (`neurocart.ingest.codes.names`), translated too; `alternatives` lists the
allowed values joined by " or "."""


class ObservationError(ValueError):
    """An observation that cannot be accepted as it is."""

    def __init__(self, field: str, message: str, got: Any = None) -> None:
        self.field = field
        self.message = message
        self.got = got
        suffix = "" if got is None else f" (got {got!r})"
        super().__init__(f"{field}: {message}{suffix}")


class UnknownCodeError(ObservationError):
    """The (code_system, code) pair is not in the catalogue."""


class UnitError(ObservationError):
    """The unit is unknown, or cannot be converted to the code's canonical unit."""


class ImpossibleValueError(ObservationError):
    """The value, in canonical units, lies outside what a living patient can have."""


class SpecimenError(ObservationError):
    """The specimen is not one this code is measured in."""


class EffectiveTimeError(ObservationError):
    """The effective time is missing its time zone."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with row `index` of a batch."""

    index: int
    field: str
    message: str
    got: Any = None

    def location(self, collection: str = "observations") -> str:
        """Where, as a path: ``observations[3].unit``."""
        return f"{collection}[{self.index}].{self.field}"

    def __str__(self) -> str:
        suffix = "" if self.got is None else f" (got {self.got!r})"
        return f"{self.location()}: {self.message}{suffix}"
