"""Store rows → response models (the rows know their patient by id, clients by study ID)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Path
from pydantic import BaseModel
from sqlalchemy.orm import Session

from neurocart.api.schemas import MAX_ID
from neurocart.store import Patient, repo

M = TypeVar("M", bound=BaseModel)

StudyIdPath = Annotated[str, Path(min_length=1, max_length=64, description="the study ID")]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def out(model: type[M], row: object, **extra: Any) -> M:
    """`model` filled from `row`'s attributes, with `extra` fields (e.g. study_id) added."""
    values = {name: getattr(row, name) for name in model.model_fields if name not in extra}
    return model.model_validate(values | extra)


def patient_of(session: Session, study_id: str) -> Patient:
    """The patient, or 404 naming `study_id`."""
    return repo.find_patient(session, study_id)


def study_id_of(session: Session, patient_id: int) -> str:
    """The study ID of a patient row id, for responses that name patients by study ID only."""
    return repo.get_patient(session, patient_id).study_id


def fact_out(model: type[M], row: Any, session: Session, *, study_id: str | None = None) -> M:
    """A stored fact as `model`, naming its patient by study ID (looked up if not given)."""
    return out(model, row, study_id=study_id or study_id_of(session, row.patient_id))
