"""Errors of the service layer. Each lists every problem found, with where and what came.

The API maps InvalidInputError (and BatchValidationError) to HTTP 422, one error item per
`Problem`, its `location` split on dots/brackets into the error `loc`. Nothing was written
when one is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

MAX_SHOWN = 5
"""Problems spelled out in the exception message (all of them are in `problems`)."""
PASSWORD_TOO_SHORT = "must be at least {n} characters"
NO_SUCH_PROTOCOL = "no such protocol; known: {known}"
MESSAGES = (PASSWORD_TOO_SHORT, NO_SUCH_PROTOCOL)
"""The services' own problem messages as keys with named fields, like
`neurocart.store.errors.MESSAGES`."""


class Problem(NamedTuple):
    """One thing wrong with the input: where (``observations[57].unit``), why, what came."""

    location: str
    message: str
    got: Any = None

    def __str__(self) -> str:
        suffix = "" if self.got is None else f" (got {self.got!r})"
        return f"{self.location}: {self.message}{suffix}"


class ServiceError(Exception):
    """Base of the service layer's own errors."""


class InvalidInputError(ServiceError, ValueError):
    """Input that cannot be accepted; `problems` names every fault (never empty)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("InvalidInputError needs at least one problem")
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:MAX_SHOWN])
        more = len(self.problems) - MAX_SHOWN
        super().__init__(shown + (f"; … and {more} more" if more > 0 else ""))

    @property
    def locations(self) -> list[str]:
        return [p.location for p in self.problems]


class BatchValidationError(InvalidInputError):
    """A batch with at least one bad row: every bad row is listed and no row was written."""

    @property
    def rows(self) -> list[int]:
        """Indices of the rows at fault, ascending (parsed from ``name[i].field``)."""
        found = set()
        for location in self.locations:
            head, _, rest = location.partition("[")
            index, _, _ = rest.partition("]")
            if head and index.isdigit():
                found.add(int(index))
        return sorted(found)
