"""Storing single-cell readouts as observations on each patient's record.

    with db.transaction() as session:
        stored = store_readouts(session, user, readout_rows(result.readouts, collected))

Each sample's readouts (`neurocart.omics.observations`) go through the one ingest path
(`services.ingest.ingest_observations`: codes, units, plausibility, audit), so the cohort
analytics, the chart and the report see them beside CAR transgene copies and CD19 counts.
The patient is found by study ID. When the sample sheet gave no collection time, the
observation is dated at 12:00 on the site's clock on the sheet's study day of the patient's
current course (`neurocart.studyday.on_study_day`: the chart and the analyses then count the
same day again; noon keeps it clear of midnight). All or nothing: a sample of an unknown
patient, or one without a time and without an infusion, fails the whole call and nothing is
written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy.orm import Session

from neurocart.omics.observations import SampleObservations
from neurocart.services.course import current_course, infusion_of
from neurocart.services.errors import NO_STUDY_DAY, InvalidInputError, Problem
from neurocart.services.ingest import ingest_observations
from neurocart.store import repo
from neurocart.store.models import User
from neurocart.studyday import on_study_day

NOON = time(12)


@dataclass(frozen=True, slots=True)
class StoredSample:
    """One omics sample whose readouts were stored, with the ids of the rows written, so the caller
    can report them.
    """

    sample_id: str
    study_id: str
    effective_at: datetime
    ids: list[int]


def store_readouts(
    session: Session, actor: User, samples: Sequence[SampleObservations]
) -> list[StoredSample]:
    """Ingest every sample's rows in the caller's transaction; returns what was stored."""
    stored = []
    for sample in samples:
        patient = repo.find_patient(session, sample.study_id)
        at = sample.collected_at or _day_time(session, patient.id, sample)
        rows = [{**row, "effective_at": at} for row in sample.rows]
        ids = ingest_observations(session, actor, patient.id, rows)
        stored.append(StoredSample(sample.sample_id, sample.study_id, at.astimezone(UTC), ids))
    return stored


def _day_time(session: Session, patient_id: int, sample: SampleObservations) -> datetime:
    infusion = infusion_of(current_course(session, patient_id))
    if infusion is None:
        raise InvalidInputError([
            Problem(
                f"{sample.sample_id}.collected_at",
                NO_STUDY_DAY.format(study_id=sample.study_id),
            )
        ])  # fmt: skip
    return on_study_day(infusion, sample.study_day, NOON)
