"""Errors of observation ingest. Each names the one field at fault, what was expected, what came.

They derive from ValueError so a caller that only knows "bad input" catches them; the API maps
every ObservationError to 422 with `field` in the error location. Nothing was normalized (and
nothing may be stored) for a row that raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
