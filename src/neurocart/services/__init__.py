"""Services: the use cases the faces (API, CLI, web, simulator) call.

A service takes a SQLAlchemy Session and the acting user, validates its input, writes through
`neurocart.store.repo` (which appends the audit entries) and never commits: the caller's
transaction does, so a request is all-or-nothing.

    from neurocart.services import ingest, schedule
    with db.transaction() as session:
        ids = ingest.ingest_observations(session, user, patient_id, rows)
    with db.reading() as session:
        plan = schedule.patient_schedule(session, patient_id, now=now)

Errors: `neurocart.services.errors.InvalidInputError` (and its `BatchValidationError`) list
every problem with its location (``observations[57].unit``) — HTTP 422; the store's
NotFoundError (404), ConflictError (409) and InvalidRecordError (422) pass through.
"""

from __future__ import annotations

from neurocart.services.errors import BatchValidationError, InvalidInputError, Problem

__all__ = ["BatchValidationError", "InvalidInputError", "Problem"]
