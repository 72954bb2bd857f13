"""Load a simulated cohort into a database, quickly, for the report-from-the-store tests.

Patients, courses, observations and events go through `neurocart.store.repo` (validated and
audited, as the API writes them); assessments, which repo scores one at a time with the
calculators, are inserted as ORM rows with the simulator's own scores (the simulator scores
with the same calculators) — unaudited, a test shortcut only.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from neurocart.frames import CohortFrames
from neurocart.security import Role
from neurocart.simulate import simulate_cohort
from neurocart.store import Assessment, Database, repo
from neurocart.store.repo import CourseIn, EventIn, ObservationIn, PatientIn

LOADER = "cohort.loader"


def _v(x: Any) -> Any:
    """A frame cell as a plain Python value (None for every kind of missing)."""
    if x is None or x is pd.NaT or x is pd.NA:
        return None
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, pd.Timestamp):
        return x.to_pydatetime()
    return x


def _day(x: Any) -> date | None:
    v = _v(x)
    return v.date() if isinstance(v, datetime) else None


def load_frames(database: Database, frames: CohortFrames) -> None:
    """Write `frames` into `database` (schema already created) in one transaction."""
    with database.transaction() as session:
        actor = repo.create_user(
            session, None, username=LOADER, password_hash="unusable", role=Role.DATA_MANAGER
        )
        ids: dict[str, int] = {}
        for p in frames.patients.to_dict("records"):
            row = repo.create_patient(
                session,
                actor,
                PatientIn(
                    study_id=p["study_id"], site=p["site"], sex=p["sex"],
                    diagnosis=p["diagnosis"], birth_year=int(p["birth_year"]),
                    subtype=_v(p["subtype"]), diagnosis_date=_v(p["diagnosis_date"]),
                    prior_therapies=list(p["prior_therapies"] or []),
                ),
            )  # fmt: skip
            ids[p["study_id"]] = row.id
        for c in frames.courses.to_dict("records"):
            repo.create_course(
                session,
                actor,
                CourseIn(
                    patient_id=ids[c["study_id"]], product=c["product"], target=_v(c["target"]),
                    dose_cells_per_kg=_v(c["dose_cells_per_kg"]),
                    lymphodepletion=_v(c["ld_regimen"]), protocol_id=_v(c["protocol_id"]),
                    enrolment_date=_day(c["enrolment_at"]), apheresis_date=_day(c["apheresis_at"]),
                    ld_start_date=_day(c["ld_start_at"]), infusion_at=_v(c["infusion_at"]),
                ),
            )  # fmt: skip
        observations = [
            ObservationIn(
                patient_id=ids[o["study_id"]], code=o["code"], value=float(o["value"]),
                unit=o["unit"], effective_at=_v(o["effective_at"]), specimen=o["specimen"],
                code_system="urn:neurocart:local" if o["code"].startswith("local:")
                else "http://loinc.org",
                source="simulator",
            )
            for o in frames.observations.to_dict("records")
        ]  # fmt: skip
        for start in range(0, len(observations), 5000):
            repo.add_observations(session, actor, observations[start : start + 5000])
        for e in frames.events.to_dict("records"):
            details = dict(e["details"]) if isinstance(e["details"], dict) else {}
            dose = unit = None
            if details.get("dose") is not None and details.get("unit"):
                dose, unit = details.pop("dose"), details.pop("unit")
            repo.add_event(
                session,
                actor,
                EventIn(
                    patient_id=ids[e["study_id"]], type=e["type"], onset_at=_v(e["onset_at"]),
                    end_at=_v(e["end_at"]), grade=None if _v(e["grade"]) is None
                    else int(e["grade"]),
                    ctcae_term=_v(e["term"]), drug=_v(e["drug"]), details=details,
                    dose=None if dose is None else float(dose), dose_unit=unit,
                ),
            )  # fmt: skip
        recorded = datetime.now(UTC)
        session.add_all(
            Assessment(
                patient_id=ids[a["study_id"]], instrument=a["instrument"], inputs=dict(a["inputs"]),
                result={"value": float(a["value"]), "label": a["label"]},
                value=float(a["value"]), label=a["label"], effective_at=_v(a["effective_at"]),
                entered_by=actor.id, recorded_at=recorded, entered_in_error=False,
            )
            for a in frames.assessments.to_dict("records")
        )  # fmt: skip


def load_simulated(
    database: Database, n_patients: int, seed: int, *, now: datetime
) -> CohortFrames:
    """Simulate `n_patients` as of `now`, store them, return the simulated frames."""
    frames = simulate_cohort(n_patients, seed, now=now)
    load_frames(database, frames)
    return frames
