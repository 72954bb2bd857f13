"""Study records: MRI scans and nerve-conduction studies, each returned with its reading.

An MRI scan comes back with `activity` (the `mri_activity` calculator against its comparator
scan) and a nerve-conduction study with `criteria` (EAN/PNS 2021 CIDP electrodiagnostic
criteria). Both are append-only: a correction (with a reason) or a retraction is a new row.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, status
from fastapi import Request as HTTPRequest
from pydantic import Field

from neurocart.api import signing
from neurocart.api.deps import ReadLog, ReadSession, WriteSession, require
from neurocart.api.routing import api_router
from neurocart.api.schemas import (
    FactOut,
    MriScanBody,
    NcsStudyBody,
    Reason,
    Request,
    Retraction,
    SignatureField,
)
from neurocart.api.views import RowId, StudyIdPath, out, patient_of, study_id_of
from neurocart.security import Action, Resource
from neurocart.services import studies
from neurocart.standards import Result
from neurocart.store import User
from neurocart.store import records as store_records
from neurocart.store.models import MriRegion, MriScan, NerveConductionStudy

router = api_router(prefix="/api/v1", tags=["studies"])

Reader = Annotated[User, Depends(require(Resource.STUDIES, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.STUDIES, Action.WRITE))]
Corrector = Annotated[User, Depends(require(Resource.STUDIES, Action.CORRECT))]
History = Annotated[bool, Query(description="include superseded and retracted")]


class StudyCorrection(Request):
    """A correction to an imaging or nerve conduction study: the changed fields and the reason the
    audit trail keeps.
    """

    reason: Reason
    signature: SignatureField = None
    changes: dict[str, Any] = Field(
        min_length=1, description="the fields to change, named as in the record"
    )


class MriScanOut(FactOut):
    """An MRI scan as the API returns it: its counts and volumes with the row's provenance."""

    scan_date: date
    comparator_date: date | None
    region: MriRegion
    field_strength_t: float | None
    sequence_3d_flair: bool | None
    contrast_given: bool
    new_t2_lesions: int | None
    enlarging_t2_lesions: int | None
    gd_enhancing_lesions: int | None
    t2_lesion_volume_ml: float | None
    brain_volume_ml: float | None
    pbvc_percent: float | None
    software: str | None
    reader: str | None
    activity: Result | None = Field(description="MRI activity against the comparator scan")


class NcsStudyOut(FactOut):
    """A nerve conduction study as the API returns it, with the EAN/PNS 2021 criteria evaluated on
    its nerves.
    """

    study_date: date
    lab: str | None
    nerves: list[dict[str, Any]]
    sensory_nerves: list[dict[str, Any]]
    criteria: Result | None = Field(description="EAN/PNS 2021 electrodiagnostic criteria")


def _mri_out(session: ReadSession, row: MriScan, study_id: str | None = None) -> MriScanOut:
    sid = study_id or study_id_of(session, row.patient_id)
    activity = None if row.entered_in_error else studies.mri_activity_of(session, row)
    return out(MriScanOut, row, study_id=sid, activity=activity)


def _ncs_out(
    session: ReadSession, row: NerveConductionStudy, study_id: str | None = None
) -> NcsStudyOut:
    sid = study_id or study_id_of(session, row.patient_id)
    criteria = None if row.entered_in_error else studies.ncs_criteria_of(row)
    return out(NcsStudyOut, row, study_id=sid, criteria=criteria)


@router.post("/patients/{study_id}/mri-scans", status_code=status.HTTP_201_CREATED)
def add_mri_scan(
    study_id: StudyIdPath, body: MriScanBody, user: Writer, session: WriteSession
) -> MriScanOut:
    """Record a new MRI scan for a patient."""
    patient = patient_of(session, study_id)
    row = studies.record_mri_scan(session, user, patient.id, body)
    return _mri_out(session, row, patient.study_id)


@router.get("/patients/{study_id}/mri-scans")
def list_mri_scans(
    study_id: StudyIdPath,
    user: Reader,
    session: ReadSession,
    reads: ReadLog,
    history: History = False,
) -> list[MriScanOut]:
    """List a patient's current MRI scans (with superseded versions when history is asked for)."""
    patient = patient_of(session, study_id)
    reads(user, "mri_scans", patient_id=patient.id, scope={"history": history or None})
    rows = store_records.current_rows(session, MriScan, patient.id, history=history)
    return [_mri_out(session, r, patient.study_id) for r in rows]


@router.get("/mri-scans/{scan_id}")
def get_mri_scan(scan_id: RowId, user: Reader, session: ReadSession, reads: ReadLog) -> MriScanOut:
    """Return one MRI scan row by id, current or superseded."""
    row = store_records.get(session, MriScan, scan_id)
    reads(user, "mri_scan", patient_id=row.patient_id, scope={"id": row.id})
    return _mri_out(session, row)


@router.post("/mri-scans/{scan_id}/correction", status_code=status.HTTP_201_CREATED)
def correct_mri_scan(
    scan_id: RowId,
    body: StudyCorrection,
    request: HTTPRequest,
    user: Corrector,
    session: WriteSession,
) -> MriScanOut:
    """Correct an MRI scan: a new version replaces the old one, which stays in the audit trail.
    Signed (`signature`)."""
    meant = signing.meaning(user, body.signature)
    row = studies.correct_mri_scan(session, user, scan_id, reason=body.reason, changes=body.changes)
    signing.record(session, request, user, meant, action="correct", entity_type="mri_scan",
                   entity_id=row.id)  # fmt: skip
    return _mri_out(session, row)


@router.post("/mri-scans/{scan_id}/retraction", status_code=status.HTTP_201_CREATED)
def retract_mri_scan(
    scan_id: RowId, body: Retraction, request: HTTPRequest, user: Corrector, session: WriteSession
) -> MriScanOut:
    """Retract an MRI scan entered in error; the row is kept, marked retracted, with the reason.
    Signed (`signature`)."""
    meant = signing.meaning(user, body.signature)
    row = studies.retract_study(session, user, MriScan, scan_id, reason=body.reason)
    assert isinstance(row, MriScan)
    signing.record(session, request, user, meant, action="retract", entity_type="mri_scan",
                   entity_id=row.id)  # fmt: skip
    return _mri_out(session, row)


@router.post("/patients/{study_id}/ncs-studies", status_code=status.HTTP_201_CREATED)
def add_ncs_study(
    study_id: StudyIdPath, body: NcsStudyBody, user: Writer, session: WriteSession
) -> NcsStudyOut:
    """Record a new nerve conduction study for a patient."""
    patient = patient_of(session, study_id)
    row = studies.record_ncs_study(session, user, patient.id, body)
    return _ncs_out(session, row, patient.study_id)


@router.get("/patients/{study_id}/ncs-studies")
def list_ncs_studies(
    study_id: StudyIdPath,
    user: Reader,
    session: ReadSession,
    reads: ReadLog,
    history: History = False,
) -> list[NcsStudyOut]:
    """List a patient's current nerve conduction studies (with superseded versions when history is
    asked for).
    """
    patient = patient_of(session, study_id)
    reads(user, "ncs_studies", patient_id=patient.id, scope={"history": history or None})
    rows = store_records.current_rows(session, NerveConductionStudy, patient.id, history=history)
    return [_ncs_out(session, r, patient.study_id) for r in rows]


@router.get("/ncs-studies/{study_row_id}")
def get_ncs_study(
    study_row_id: RowId, user: Reader, session: ReadSession, reads: ReadLog
) -> NcsStudyOut:
    """Return one nerve conduction study row by id, current or superseded."""
    row = store_records.get(session, NerveConductionStudy, study_row_id)
    reads(user, "ncs_study", patient_id=row.patient_id, scope={"id": row.id})
    return _ncs_out(session, row)


@router.post("/ncs-studies/{study_row_id}/correction", status_code=status.HTTP_201_CREATED)
def correct_ncs_study(
    study_row_id: RowId,
    body: StudyCorrection,
    request: HTTPRequest,
    user: Corrector,
    session: WriteSession,
) -> NcsStudyOut:
    """Correct a nerve conduction study: a new version replaces the old one, which stays in the
    audit trail. Signed (`signature`).
    """
    meant = signing.meaning(user, body.signature)
    row = studies.correct_ncs_study(
        session, user, study_row_id, reason=body.reason, changes=body.changes
    )
    signing.record(session, request, user, meant, action="correct", entity_type="ncs_study",
                   entity_id=row.id)  # fmt: skip
    return _ncs_out(session, row)


@router.post("/ncs-studies/{study_row_id}/retraction", status_code=status.HTTP_201_CREATED)
def retract_ncs_study(
    study_row_id: RowId,
    body: Retraction,
    request: HTTPRequest,
    user: Corrector,
    session: WriteSession,
) -> NcsStudyOut:
    """Retract a nerve conduction study entered in error; the row is kept, marked retracted, with
    the reason. Signed (`signature`).
    """
    meant = signing.meaning(user, body.signature)
    row = studies.retract_study(
        session, user, NerveConductionStudy, study_row_id, reason=body.reason
    )
    assert isinstance(row, NerveConductionStudy)
    signing.record(session, request, user, meant, action="retract", entity_type="ncs_study",
                   entity_id=row.id)  # fmt: skip
    return _ncs_out(session, row)
