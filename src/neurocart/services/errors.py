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
NOT_BLANK = "must not be blank"
AT_MOST_CHARACTERS = "at most {limit} characters"
ONE_OF_KINDS = "one of {kinds}"
HANDOVER_TO_NEEDED = "name the discipline or the person taking the alert over"
NOT_A_HANDOVER_TARGET = "not a discipline ({disciplines}) nor an active user"
RESOLVE_REASON_NEEDED = "say why the alert is resolved"
IN_THE_FUTURE = "is in the future"
IN_THE_FUTURE_AFTER = "is in the future (after {latest})"
BEFORE_BIRTH_YEAR = "is before the patient's birth year ({year})"
NO_SUCH_TASK = "protocol {protocol_id} has no task of this id"
NOT_A_SLOT_START = "is not the window start of a slot of this task in the patient's schedule"
NO_STUDY_DAY = (
    "no collection time, and patient {study_id} has no infusion date to count the study day from"
)
NOT_ALLOWED_TO_WRITE = "key: a {role} may not write on alerts"
NOT_ALLOWED_TO_HAND_OVER = "key: a {role} may not hand over an alert paging {disciplines}"
NOT_ALLOWED_TO_ACKNOWLEDGE = "key: a {role} may not acknowledge an alert paging {disciplines}"
NOT_ALLOWED_TO_RESOLVE = "key: a {role} may not resolve this alert"
NO_DISCIPLINE = "no discipline"
NOT_A_LIST = "must be a list of observations"
"""(`neurocart.services.ingest`, for a batch that is not a list.)"""
MESSAGES = (
    PASSWORD_TOO_SHORT, NO_SUCH_PROTOCOL, NOT_BLANK, AT_MOST_CHARACTERS, ONE_OF_KINDS,
    HANDOVER_TO_NEEDED, NOT_A_HANDOVER_TARGET, RESOLVE_REASON_NEEDED, IN_THE_FUTURE,
    IN_THE_FUTURE_AFTER, BEFORE_BIRTH_YEAR, NO_SUCH_TASK, NOT_A_SLOT_START, NO_STUDY_DAY,
    NOT_ALLOWED_TO_WRITE, NOT_ALLOWED_TO_HAND_OVER, NOT_ALLOWED_TO_ACKNOWLEDGE,
    NOT_ALLOWED_TO_RESOLVE, NO_DISCIPLINE, NOT_A_LIST,
)  # fmt: skip
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
