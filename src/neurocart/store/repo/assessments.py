"""Assessments: a scored instrument or grade, corrected and retracted by new rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neurocart.store import audit
from neurocart.store.models import (
    Assessment,
    User,
)
from neurocart.store.pages import Page
from neurocart.store.repo._common import (
    KEEP,
    AssessmentIn,
    Keep,
    _aware,
    _changes,
    _correct,
    _created,
    _facts,
    _load,
    _require_patients,
)
from neurocart.store.types import utcnow


def add_assessment(
    session: Session, actor: User, item: AssessmentIn, *, scored: Mapping[str, Any]
) -> Assessment:
    """Store an assessment with what its calculator made of it (`scored`: the validated
    inputs, the Result, its value and label — `neurocart.services.assessments.score`)."""
    _aware("effective_at", item.effective_at)
    audit.lock_chain(session)
    _require_patients(session, [item.patient_id], "patient_id")
    row = Assessment(
        patient_id=item.patient_id,
        instrument=item.instrument,
        effective_at=item.effective_at,
        entered_by=actor.id,
        recorded_at=utcnow(),
        entered_in_error=False,
        **scored,
    )
    return _created(session, actor, row)


def correct_assessment(
    session: Session,
    actor: User,
    assessment_id: int,
    *,
    reason: str,
    scored: Mapping[str, Any] | Keep = KEEP,
    effective_at: datetime | Keep = KEEP,
) -> Assessment:
    """Supersede an assessment; `scored` replaces the scored inputs and result."""
    changes: dict[str, Any] = _changes(effective_at=effective_at)
    if "effective_at" in changes:
        _aware("effective_at", changes["effective_at"])
    if not isinstance(scored, Keep):
        changes |= dict(scored)
    return _correct(session, actor, Assessment, assessment_id, reason, changes)


def retract_assessment(
    session: Session, actor: User, assessment_id: int, *, reason: str
) -> Assessment:
    """Withdraw an assessment entered in error, keeping it and the reason (facts are never
    deleted)."""
    return _correct(session, actor, Assessment, assessment_id, reason, {}, action="retract")


def get_assessment(session: Session, assessment_id: int) -> Assessment:
    """The assessment with this id (any version, retracted ones included)."""
    return _load(session, Assessment, assessment_id)


def list_assessments(
    session: Session,
    patient_id: int,
    *,
    instrument: str | None = None,
    history: bool = False,
    page: Page | None = None,
) -> list[Assessment]:
    """A patient's assessments by time, optionally of one instrument; only current versions unless
    `history`."""
    where = [] if instrument is None else [Assessment.instrument == instrument]
    by = Assessment.effective_at
    return _facts(session, Assessment, patient_id, where, by, history, page)
