"""Errors the repository raises; each names the field or record at fault.

The API maps them: NotFoundError → 404, ConflictError → 409, InvalidRecordError → 422.
Calculator input errors (neurocart.standards.CalculatorInputError) pass through unchanged.
"""

from __future__ import annotations

from typing import Any

USERNAME_TAKEN = "username {username} is taken"
STUDY_ID_TAKEN = "study ID {study_id} already exists"
ALREADY_CORRECTED = (
    "{entity} {row_id} was already corrected by {entity} {successor}; correct that one"
)
ALERT_CLOSED = "alert {key} is closed"
ALERT_ALREADY_CLOSED = "alert {key} is already closed"
NOT_EMPTY = "must not be empty"
NEEDS_ZONE = "needs a time zone (timestamps are stored in UTC)"
FINITE = "must be a finite number"
ONE_OF = "must be one of {choices}"
NEEDS_REASON = "a correction needs a reason"
GRADE_1_TO_5 = "must be an integer from 1 to 5"
NOT_BEFORE = "must not be before {other}"
NOT_BEFORE_WHEN = "must not be before {other} ({when})"
NOT_NEGATIVE = "must not be negative"
POSITIVE = "must be positive"
DOSE_UNIT_NEEDED = "required when a dose is given"
REQUIRED_FOR_EVENT = "required for a {kind} event"
BATCH_LIMIT = "at most {limit} per batch"
INFUSION_DATE = "must be the date of infusion_at on the site's clock ({zone}: {day})"
MESSAGES = (
    USERNAME_TAKEN, STUDY_ID_TAKEN, ALREADY_CORRECTED, ALERT_CLOSED, ALERT_ALREADY_CLOSED,
    NOT_EMPTY, NEEDS_ZONE, FINITE, ONE_OF, NEEDS_REASON, GRADE_1_TO_5, NOT_BEFORE,
    NOT_BEFORE_WHEN, NOT_NEGATIVE, POSITIVE, DOSE_UNIT_NEEDED, REQUIRED_FOR_EVENT, BATCH_LIMIT,
    INFUSION_DATE,
)  # fmt: skip
"""The store's refusals as message keys with named fields: the English the API serves is
`key.format(...)`; a face finds key and fields again to say it in its reader's language
(`neurocart.i18n.error_text`; the catalogues list them through `locale/sources.toml`). A
field keeps what the store names: a field name (`onset_at`), a code, a number, a date."""


class StoreError(Exception):
    """Base of the store's errors. Nothing was written when one is raised."""


class NotFoundError(StoreError, LookupError):
    """A referenced record does not exist."""

    def __init__(self, entity: str, key: Any, field: str | None = None) -> None:
        self.entity = entity
        self.key = key
        self.field = field
        where = f"{field}: " if field else ""
        super().__init__(f"{where}no {entity} {key!r}")


class ConflictError(StoreError):
    """The write contradicts what is stored (a duplicate key, a row already corrected)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class InvalidRecordError(StoreError, ValueError):
    """A record that is inconsistent in itself (e.g. an adverse event without a grade)."""

    def __init__(self, field: str, message: str, got: Any = None) -> None:
        self.field = field
        self.message = message
        self.got = got
        suffix = "" if got is None else f" (got {got!r})"
        super().__init__(f"{field}: {message}{suffix}")


class BatchTooLargeError(InvalidRecordError):
    """A batch above Settings.max_batch_observations."""
