"""Assessments: an instrument's item inputs, scored by its calculator (totals never typed in).

Nurses record and correct only bedside instruments (security.may_record_assessment).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, status
from sqlalchemy.orm import Session

from neurocart.api import signing
from neurocart.api.deps import (
    NowDep,
    ReadLog,
    ReadSession,
    SettingsDep,
    WriteSession,
    require,
    window_of,
)
from neurocart.api.errors import ForbiddenError
from neurocart.api.pagination import PageOut, PagingDep
from neurocart.api.routing import api_router
from neurocart.api.schemas import (
    AssessmentCorrection,
    AssessmentIn,
    AssessmentOut,
    Retraction,
    SignatureOut,
    Signing,
)
from neurocart.api.views import RowId, StudyIdPath, fact_out, out, patient_of, study_id_of
from neurocart.security import Action, Resource, Role, may_record_assessment
from neurocart.services import accounts, assessments
from neurocart.standards import get as get_calculator
from neurocart.store import User, repo

router = api_router(prefix="/api/v1", tags=["assessments"])

Reader = Annotated[User, Depends(require(Resource.ASSESSMENTS, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.ASSESSMENTS, Action.WRITE))]
Corrector = Annotated[User, Depends(require(Resource.ASSESSMENTS, Action.CORRECT))]


def _check_instrument(user: User, instrument: str, *, correcting: bool) -> None:
    """403 when this user's role may not record this instrument (nurses: bedside only)."""
    if correcting and user.role.value != Role.NURSE:
        return  # the route's permission already decided
    if not may_record_assessment(user.role.value, instrument):
        raise ForbiddenError(
            "instrument", f"role {user.role.value!r} may not record {instrument}", instrument
        )


def _check_correcting(session: Session, user: User, assessment_id: int) -> None:
    """404 for an unknown assessment, 403 when this user may not correct its instrument."""
    _check_instrument(user, repo.get_assessment(session, assessment_id).instrument, correcting=True)


@router.post("/patients/{study_id}/assessments", status_code=status.HTTP_201_CREATED)
def add_assessment(
    study_id: StudyIdPath,
    body: AssessmentIn,
    user: Writer,
    session: WriteSession,
    settings: SettingsDep,
    now: NowDep,
) -> AssessmentOut:
    """Score `inputs` with the instrument's calculator and store the inputs and its Result."""
    get_calculator(body.instrument)  # 404 naming `instrument` before anything else
    _check_instrument(user, body.instrument, correcting=False)
    patient = patient_of(session, study_id)
    window_of(patient, settings, now).check({"effective_at": body.effective_at})
    row = assessments.add_assessment(
        session,
        user,
        repo.AssessmentIn(
            patient_id=patient.id,
            instrument=body.instrument,
            inputs=body.inputs,
            effective_at=body.effective_at,
        ),
    )
    return fact_out(AssessmentOut, row, session, study_id=patient.study_id)


@router.get("/patients/{study_id}/assessments")
def list_assessments(
    study_id: StudyIdPath,
    user: Reader,
    session: ReadSession,
    paging: PagingDep,
    reads: ReadLog,
    instrument: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    history: Annotated[bool, Query(description="include superseded and retracted")] = False,
) -> PageOut[AssessmentOut]:
    """One page of the patient's assessments by time (then id), optionally of one instrument;
    `history` adds superseded and retracted versions; `next` reads on."""
    patient = patient_of(session, study_id)
    page = paging.page((datetime, int))
    rows = repo.list_assessments(
        session, patient.id, instrument=instrument, history=history, page=page
    )
    reads(user, "assessments", patient_id=patient.id,
          scope={"instrument": instrument, "history": history or None})  # fmt: skip
    return paging.out(
        rows,
        key=lambda r: (r.effective_at, r.id),
        convert=lambda r: out(AssessmentOut, r, study_id=patient.study_id),
    )


@router.get("/assessments/{assessment_id}")
def get_assessment(
    assessment_id: RowId, user: Reader, session: ReadSession, reads: ReadLog
) -> AssessmentOut:
    """One assessment version by id, with its calculator result."""
    row = repo.get_assessment(session, assessment_id)
    reads(user, "assessment", patient_id=row.patient_id, scope={"id": row.id})
    return out(AssessmentOut, row, study_id=study_id_of(session, row.patient_id))


@router.post("/assessments/{assessment_id}/correction", status_code=status.HTTP_201_CREATED)
def correct_assessment(
    assessment_id: RowId,
    body: AssessmentCorrection,
    request: Request,
    user: Corrector,
    session: WriteSession,
    settings: SettingsDep,
    now: NowDep,
) -> AssessmentOut:
    """A new row, scored again from the corrected inputs, supersedes the assessment."""
    _check_correcting(session, user, assessment_id)
    meant = signing.meaning(user, body.signature)
    changes: dict[str, Any] = {
        k: getattr(body, k) for k in body.model_fields_set & {"inputs", "effective_at"}
    }
    if "effective_at" in changes:
        patient = repo.get_patient(session, repo.get_assessment(session, assessment_id).patient_id)
        window_of(patient, settings, now).check({"effective_at": changes["effective_at"]})
    row = assessments.correct_assessment(
        session, user, assessment_id, reason=body.reason, **changes
    )
    signing.record(session, request, user, meant, action="correct", entity_type="assessment",
                   entity_id=row.id)  # fmt: skip
    return fact_out(AssessmentOut, row, session)


@router.post("/assessments/{assessment_id}/retraction", status_code=status.HTTP_201_CREATED)
def retract_assessment(
    assessment_id: RowId,
    body: Retraction,
    request: Request,
    user: Corrector,
    session: WriteSession,
) -> AssessmentOut:
    """Mark an assessment entered in error; it stays readable with the reason, and monitoring stops
    counting it."""
    _check_correcting(session, user, assessment_id)
    meant = signing.meaning(user, body.signature)
    row = repo.retract_assessment(session, user, assessment_id, reason=body.reason)
    signing.record(session, request, user, meant, action="retract", entity_type="assessment",
                   entity_id=row.id)  # fmt: skip
    return fact_out(AssessmentOut, row, session)


@router.post("/assessments/{assessment_id}/signature", status_code=status.HTTP_201_CREATED)
def sign_assessment(
    assessment_id: RowId,
    body: Signing,
    request: Request,
    user: Writer,
    session: WriteSession,
) -> SignatureOut:
    """Sign an assessment (reviewed or approved): the password again, the meaning, recorded with
    the signer and the time. Nurses sign only the bedside instruments they may record."""
    row = repo.get_assessment(session, assessment_id)
    _check_instrument(user, row.instrument, correcting=False)
    meant = signing.meaning(user, body.signature)
    return signing.record(session, request, user, meant, action="sign",
                          entity_type="assessment", entity_id=row.id)  # fmt: skip


@router.get("/assessments/{assessment_id}/signatures")
def assessment_signatures(
    assessment_id: RowId, user: Reader, session: ReadSession
) -> list[SignatureOut]:
    """The signatures of one assessment version, oldest first."""
    row = repo.get_assessment(session, assessment_id)
    return [out(SignatureOut, s) for s in accounts.signatures_of(session, "assessment", row.id)]
