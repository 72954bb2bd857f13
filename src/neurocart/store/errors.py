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
MESSAGES = (USERNAME_TAKEN, STUDY_ID_TAKEN, ALREADY_CORRECTED, ALERT_CLOSED, ALERT_ALREADY_CLOSED)
"""The store's refusals as message keys with named fields: the English the API serves is
`key.format(...)`; a face finds key and fields again to say it in its reader's language
(`neurocart.i18n.error_text`; the catalogues list them through `locale/sources.toml`)."""


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
