"""The clinical record: models, the database handle, audited repository functions.

    from neurocart.store import Database, repo
    db = Database.from_url(settings.database_url)
    with db.transaction() as session:
        repo.add_observations(session, user, items)

`neurocart.store.audit.verify(session)` checks the hash chain and every audited row;
`neurocart.store.migrate.upgrade(engine)` applies the migrations.
"""

from __future__ import annotations

from neurocart.store import accounts as accounts  # sessions, login failures, idempotency
from neurocart.store import audit, repo
from neurocart.store import interop as interop  # the feeds' tables, on Base.metadata
from neurocart.store.db import Database, get_database
from neurocart.store.errors import (
    BatchTooLargeError,
    ConflictError,
    InvalidRecordError,
    NotFoundError,
    StoreError,
)
from neurocart.store.models import (
    Assessment,
    AuditEntry,
    Base,
    ClinicalEvent,
    Diagnosis,
    EventType,
    Observation,
    Patient,
    Role,
    Sex,
    Specimen,
    Task,
    TreatmentCourse,
    User,
)

__all__ = [
    "Assessment",
    "AuditEntry",
    "Base",
    "BatchTooLargeError",
    "ClinicalEvent",
    "ConflictError",
    "Database",
    "Diagnosis",
    "EventType",
    "InvalidRecordError",
    "NotFoundError",
    "Observation",
    "Patient",
    "Role",
    "Sex",
    "Specimen",
    "StoreError",
    "Task",
    "TreatmentCourse",
    "User",
    "audit",
    "get_database",
    "repo",
]
