"""Write a simulated cohort into the store through the service layer, as the API would.

    report = load_cohort(database, sim.frames, actor=user)

No back door: patients and courses go through `repo.create_patient` / `repo.create_course`,
observations through `services.ingest.ingest_observations` (codes, units and plausibility
checked as for any feed), assessments through `services.assessments.add_assessment` (only
the *inputs* are passed: the calculator scores them again) and events through
`repo.add_event`, MRI scans and nerve-conduction studies through `services.studies` (validated
as the API validates them) — every row audited under `actor`.

Ordering. Each patient is written in one transaction, its facts in time order (observations,
then assessments, then events at equal times, as `iter_facts` orders them); runs of
consecutive observations are one ingest batch. The monitor reads the journal afterwards in
that order, exactly as it reads the API's writes, so it sees each patient's history as it
happened (patients are independent in the engine, so they are loaded one after another).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import pandas as pd
from sqlalchemy.orm import Session

from neurocart.frames import CohortFrames
from neurocart.ingest import LOCAL, LOINC, ObservationIn, Specimen
from neurocart.security import Role, hash_password
from neurocart.services import studies
from neurocart.services.assessments import add_assessment
from neurocart.services.ingest import ingest_observations
from neurocart.simulate.cohort import iter_facts
from neurocart.store import Database, repo
from neurocart.store.models import User
from neurocart.studyday import local_date

SOURCE = "simulator"
"""The `source` of every simulated observation (so real and synthetic data never mix)."""
ACCOUNT = "simulator"
"""The username the simulator writes as: a deactivated data-manager account (cannot log in)."""


@dataclass(frozen=True)
class LoadReport:
    """What `load_cohort` wrote; `patient_ids` maps study ID → store id."""

    patients: int
    courses: int
    observations: int
    assessments: int
    events: int
    seconds: float
    studies: int = 0
    """MRI scan and nerve-conduction study records."""
    patient_ids: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def rows(self) -> int:
        return (
            self.patients + self.courses + self.observations + self.assessments + self.events
            + self.studies
        )  # fmt: skip


def load_cohort(
    database: Database,
    frames: CohortFrames,
    *,
    actor: User,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Store `frames` (patients new to the database) and return the counts written.

    One transaction per patient: a failure leaves the patients before it stored and raises
    the service's error (e.g. BatchValidationError naming ``observations[i].field``).
    `progress(done, total)` is called after each patient.
    """
    started = time.perf_counter()
    facts = _facts_by_patient(frames)
    courses = _grouped(frames.courses)
    counts = {"observations": 0, "assessments": 0, "events": 0, "courses": 0, "studies": 0}
    scans, nerve_studies = _grouped(frames.mri_scans), _grouped(frames.ncs_studies)
    ids: dict[str, int] = {}
    patients = records(frames.patients)
    for done, p in enumerate(patients, start=1):
        study_id = str(p["study_id"])
        with database.transaction() as session:
            patient_id = repo.create_patient(session, actor, _patient_in(p)).id
            for c in courses.get(study_id, []):
                repo.create_course(session, actor, _course_in(patient_id, c))
                counts["courses"] += 1
            writer = _Writer(session, actor, patient_id, batch_size)
            for kind, row in facts.get(study_id, []):
                writer.add(kind, row)
            writer.flush()
            for row in scans.get(study_id, []):  # by date: a comparator before its follow-up
                studies.record_mri_scan(session, actor, patient_id, mri_scan_in(row))
                counts["studies"] += 1
            for row in nerve_studies.get(study_id, []):
                studies.record_ncs_study(session, actor, patient_id, ncs_study_in(row))
                counts["studies"] += 1
        ids[study_id] = patient_id
        for kind in ("observations", "assessments", "events"):
            counts[kind] += writer.counts[kind]
        if progress is not None:
            progress(done, len(patients))
    return LoadReport(
        patients=len(patients),
        seconds=time.perf_counter() - started,
        patient_ids=ids,
        **counts,
    )


class _Writer:
    """One patient's facts in time order: runs of observations batched, the rest one by one."""

    def __init__(
        self,
        session: Session,
        actor: User,
        patient_id: int,
        batch_size: int,
    ) -> None:
        self.session = session
        self.actor = actor
        self.patient_id = patient_id
        self.batch_size = batch_size
        self.pending: list[ObservationIn] = []
        self.counts = {"observations": 0, "assessments": 0, "events": 0}

    def add(self, kind: str, row: Mapping[str, Any]) -> None:
        if kind == "observation":
            self.pending.append(observation_in(row))
            if len(self.pending) >= self.batch_size:
                self.flush()
            return
        self.flush()
        if kind == "assessment":
            add_assessment(self.session, self.actor, assessment_in(self.patient_id, row))
            self.counts["assessments"] += 1
        else:
            repo.add_event(self.session, self.actor, event_in(self.patient_id, row))
            self.counts["events"] += 1

    def flush(self) -> None:
        if not self.pending:
            return
        rows, self.pending = self.pending, []
        ids = ingest_observations(self.session, self.actor, self.patient_id, rows, limit=len(rows))
        self.counts["observations"] += len(ids)


def simulator_account(session: Session) -> User:
    """The `simulator` user, created (deactivated, random password) on first use.

    Audit entries then say the simulator wrote the synthetic record, not a person.
    """
    user = repo.get_user_by_username(session, ACCOUNT)
    if user is not None:
        return user
    return repo.create_user(
        session,
        None,
        username=ACCOUNT,
        password_hash=hash_password(secrets.token_urlsafe(32)),
        role=Role.DATA_MANAGER,
        active=False,
    )


# --- frame rows → service inputs (also used by the demo's HTTP streamer) --------------------


def value(x: Any) -> Any:
    """A frame cell as a plain Python value: NaN / NaT / <NA> → None, Timestamp → datetime."""
    if x is None or x is pd.NaT or x is pd.NA:
        return None
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, pd.Timestamp):
        return x.to_pydatetime()
    return x


def _day(x: Any) -> date | None:
    """A simulated anchor instant as the date the ward records: its day on the site's clock."""
    v = value(x)
    return local_date(v) if isinstance(v, datetime) else v


def observation_in(row: Mapping[str, Any]) -> ObservationIn:
    """An exported observation row as the ingest input, so simulated data takes the same validated
    path as the API."""
    code = str(row["code"])
    return ObservationIn(
        code=code,
        code_system=LOCAL if code.startswith("local:") else LOINC,
        value=float(row["value"]),
        unit=str(row["unit"]),
        specimen=Specimen(row["specimen"]),
        effective_at=value(row["effective_at"]),
        source=SOURCE,
    )


def mri_scan_in(row: Mapping[str, Any]) -> studies.MriScanIn:
    """An exported MRI scan row as the studies service's input."""
    return studies.MriScanIn.model_validate(
        {k: value(v) for k, v in row.items() if k != "study_id"}
    )


def ncs_study_in(row: Mapping[str, Any]) -> studies.NcsStudyIn:
    """An exported nerve-conduction study row as the studies service's input."""
    return studies.NcsStudyIn(
        study_date=row["study_date"], lab=value(row["lab"]), nerves=list(row["nerves"]),
        sensory_nerves=list(row["sensory_nerves"]),
    )  # fmt: skip


def assessment_in(patient_id: int, row: Mapping[str, Any]) -> repo.AssessmentIn:
    """Only the inputs: the store's calculator scores them (the frame's value is not copied)."""
    return repo.AssessmentIn(
        patient_id=patient_id,
        instrument=str(row["instrument"]),
        inputs=dict(row["inputs"]),
        effective_at=value(row["effective_at"]),
    )


def event_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The event's fields as the store and the API name them (dose moved out of details)."""
    details = dict(row["details"]) if isinstance(row["details"], Mapping) else {}
    dose = details.pop("dose", None)
    unit = details.pop("unit", None) if dose is not None else None
    grade = value(row["grade"])
    return {
        "type": str(row["type"]),
        "onset_at": value(row["onset_at"]),
        "end_at": value(row["end_at"]),
        "ctcae_term": value(row["term"]),
        "grade": None if grade is None else int(grade),
        "drug": value(row["drug"]),
        "dose": None if dose is None else float(dose),
        "dose_unit": unit,
        "details": details,
    }


def event_in(patient_id: int, row: Mapping[str, Any]) -> repo.EventIn:
    """An exported event row as the store's event input for `patient_id`."""
    return repo.EventIn(patient_id=patient_id, **event_fields(row))


def _patient_in(p: Mapping[str, Any]) -> repo.PatientIn:
    return repo.PatientIn(
        study_id=str(p["study_id"]),
        site=str(p["site"]),
        sex=str(p["sex"]),
        diagnosis=str(p["diagnosis"]),
        birth_year=int(p["birth_year"]),
        subtype=value(p["subtype"]),
        diagnosis_date=value(p["diagnosis_date"]),
        prior_therapies=list(p["prior_therapies"] or []),
    )


def _course_in(patient_id: int, c: Mapping[str, Any]) -> repo.CourseIn:
    return repo.CourseIn(
        patient_id=patient_id,
        product=str(c["product"]),
        target=value(c["target"]),
        dose_cells_per_kg=value(c["dose_cells_per_kg"]),
        lymphodepletion=value(c["ld_regimen"]),
        enrolment_date=_day(c["enrolment_at"]),
        apheresis_date=_day(c["apheresis_at"]),
        ld_start_date=_day(c["ld_start_at"]),
        protocol_id=value(c["protocol_id"]),
        infusion_at=value(c["infusion_at"]),
    )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts keyed by column name."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def _grouped(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in records(frame):
        out.setdefault(str(row["study_id"]), []).append(row)
    return out


def _facts_by_patient(frames: CohortFrames) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Each patient's facts in time order (iter_facts' order, split by patient)."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for kind, row in iter_facts(frames):
        out.setdefault(str(row["study_id"]), []).append((kind, row))
    return out


__all__ = [
    "ACCOUNT",
    "SOURCE",
    "LoadReport",
    "assessment_in",
    "event_fields",
    "event_in",
    "load_cohort",
    "mri_scan_in",
    "ncs_study_in",
    "observation_in",
    "records",
    "simulator_account",
    "value",
]
