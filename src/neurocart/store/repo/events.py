"""Clinical events: onset, end, grade and details, corrected and retracted by new rows."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neurocart.store import audit
from neurocart.store.errors import (
    DOSE_UNIT_NEEDED,
    GRADE_1_TO_5,
    NOT_BEFORE,
    NOT_NEGATIVE,
    REQUIRED_FOR_EVENT,
    InvalidRecordError,
)
from neurocart.store.models import (
    ClinicalEvent,
    EventType,
    User,
)
from neurocart.store.pages import Page
from neurocart.store.repo._common import (
    KEEP,
    EventIn,
    Keep,
    _aware,
    _changes,
    _choice,
    _correct,
    _created,
    _facts,
    _finite,
    _load,
    _require_patients,
)
from neurocart.store.types import utcnow

_NEEDS: dict[EventType, tuple[str, ...]] = {
    EventType.ADVERSE_EVENT: ("ctcae_term", "grade"),
    EventType.CRS: ("grade",),
    EventType.ICANS: ("grade",),
    EventType.DRUG_GIVEN: ("drug",),
    EventType.MAINTENANCE_STARTED: ("drug",),
    EventType.MAINTENANCE_STOPPED: ("drug",),
}
"""Fields an event of each type cannot be recorded without (one place for this rule)."""


def _check_event(values: Mapping[str, Any]) -> None:
    kind: EventType = values["type"]
    for name in _NEEDS.get(kind, ()):
        if values.get(name) in (None, ""):
            raise InvalidRecordError(name, REQUIRED_FOR_EVENT.format(kind=kind.value))
    grade = values.get("grade")
    if grade is not None and (isinstance(grade, bool) or grade not in range(1, 6)):
        raise InvalidRecordError("grade", GRADE_1_TO_5, grade)
    _aware("onset_at", values["onset_at"])
    _aware("end_at", values.get("end_at"))
    if values.get("end_at") is not None and values["end_at"] < values["onset_at"]:
        raise InvalidRecordError("end_at", NOT_BEFORE.format(other="onset_at"), values["end_at"])
    dose = values.get("dose")
    _finite("dose", dose)
    if dose is not None and dose < 0:
        raise InvalidRecordError("dose", NOT_NEGATIVE, dose)
    if dose is not None and not values.get("dose_unit"):
        raise InvalidRecordError("dose_unit", DOSE_UNIT_NEEDED)


def add_event(session: Session, actor: User, item: EventIn) -> ClinicalEvent:
    """Store one clinical event for an existing patient, audited; the event is checked before the
    chain is locked."""
    values = {name: getattr(item, name) for name in EventIn.__dataclass_fields__}
    values["type"] = _choice("type", EventType, item.type)
    values["details"] = dict(item.details)
    _check_event(values)
    audit.lock_chain(session)
    _require_patients(session, [item.patient_id], "patient_id")
    row = ClinicalEvent(**values, entered_by=actor.id, recorded_at=utcnow(), entered_in_error=False)
    return _created(session, actor, row)


def correct_event(
    session: Session,
    actor: User,
    event_id: int,
    *,
    reason: str,
    type: EventType | str | Keep = KEEP,
    onset_at: datetime | Keep = KEEP,
    end_at: datetime | Keep | None = KEEP,
    ctcae_term: str | Keep | None = KEEP,
    grade: int | Keep | None = KEEP,
    drug: str | Keep | None = KEEP,
    dose: float | Keep | None = KEEP,
    dose_unit: str | Keep | None = KEEP,
    details: Mapping[str, Any] | Keep = KEEP,
) -> ClinicalEvent:
    """Supersede an event (e.g. add its end time, fix a grade); returns the new current row."""
    changes = _changes(
        type=type,
        onset_at=onset_at,
        end_at=end_at,
        ctcae_term=ctcae_term,
        grade=grade,
        drug=drug,
        dose=dose,
        dose_unit=dose_unit,
        details=details,
    )
    if "type" in changes:
        changes["type"] = _choice("type", EventType, changes["type"])
    if "details" in changes:
        changes["details"] = dict(changes["details"])
    audit.lock_chain(session)
    old = _load(session, ClinicalEvent, event_id)
    merged = {name: getattr(old, name) for name in EventIn.__dataclass_fields__}
    _check_event(merged | changes)
    return _correct(session, actor, ClinicalEvent, event_id, reason, changes)


def retract_event(session: Session, actor: User, event_id: int, *, reason: str) -> ClinicalEvent:
    """Withdraw an event entered in error, keeping it and the reason."""
    return _correct(session, actor, ClinicalEvent, event_id, reason, {}, action="retract")


def get_event(session: Session, event_id: int) -> ClinicalEvent:
    """The event with this id (any version, retracted ones included)."""
    return _load(session, ClinicalEvent, event_id)


def list_events(
    session: Session,
    patient_id: int,
    *,
    type: EventType | str | None = None,
    types: Collection[EventType | str] | None = None,
    history: bool = False,
    page: Page | None = None,
) -> list[ClinicalEvent]:
    """A patient's events by onset, optionally of one type (or of any of `types`: the kinds
    a reader can express, read in one query); only current versions unless `history`."""
    where = [] if type is None else [ClinicalEvent.type == _choice("type", EventType, type)]
    if types is not None:
        kinds = sorted({_choice("types", EventType, t) for t in types})
        where.append(ClinicalEvent.type.in_(kinds))
    by = ClinicalEvent.onset_at
    return _facts(session, ClinicalEvent, patient_id, where, by, history, page)
