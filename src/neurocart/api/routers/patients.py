"""Patients under their pseudonymous study ID: register, list, read, update details."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, status

from neurocart.api.deps import NowDep, ReadLog, ReadSession, WriteSession, require
from neurocart.api.pagination import PageOut, PagingDep
from neurocart.api.routing import api_router
from neurocart.api.schemas import PatientIn, PatientOut, PatientUpdate
from neurocart.api.views import StudyIdPath, out, patient_of
from neurocart.security import Action, Resource
from neurocart.services.plausible import check_birth_year
from neurocart.store import User, repo

router = api_router(prefix="/api/v1/patients", tags=["patients"])

Reader = Annotated[User, Depends(require(Resource.PATIENTS, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.PATIENTS, Action.WRITE))]
Corrector = Annotated[User, Depends(require(Resource.PATIENTS, Action.CORRECT))]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_patient(body: PatientIn, user: Writer, session: WriteSession, now: NowDep) -> PatientOut:
    """Enrol a patient under a pseudonymous study ID; a study ID already in use is 409."""
    check_birth_year(body.birth_year, now=now)
    created = repo.create_patient(session, user, repo.PatientIn(**body.model_dump()))
    return out(PatientOut, created)


@router.get("")
def list_patients(
    user: Reader,
    session: ReadSession,
    paging: PagingDep,
    reads: ReadLog,
    site: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> PageOut[PatientOut]:
    """One page of the patients by study ID, optionally of one site; `next` reads on."""
    rows = repo.list_patients(session, site=site, page=paging.page((str, int)))
    reads(user, "patients", scope={"site": site, "patients": len(rows)})
    return paging.out(rows, key=lambda p: (p.study_id, p.id), convert=lambda p: out(PatientOut, p))


@router.get("/{study_id}")
def get_patient(
    study_id: StudyIdPath, user: Reader, session: ReadSession, reads: ReadLog
) -> PatientOut:
    """One patient by study ID; 404 naming `study_id` when there is none."""
    patient = patient_of(session, study_id)
    reads(user, "patient", patient_id=patient.id)
    return out(PatientOut, patient)


@router.patch("/{study_id}")
def update_patient(
    study_id: StudyIdPath, body: PatientUpdate, user: Corrector, session: WriteSession, now: NowDep
) -> PatientOut:
    """Change the fields given; the study ID is the identity and never changes."""
    check_birth_year(body.birth_year, now=now)
    patient = patient_of(session, study_id)
    changes = body.model_dump(include=body.model_fields_set)
    return out(PatientOut, repo.update_patient(session, user, patient.id, **changes))
