"""A small realistic record for the web tests: one user per role and a simulated cohort.

Everything is written through `neurocart.store.repo` (audited, as the API would).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from neurocart.security import Role, hash_password
from neurocart.simulate import simulate
from neurocart.store import Database, repo
from neurocart.store.models import User
from neurocart.store.repo import AssessmentIn, CourseIn, EventIn, ObservationIn, PatientIn

PASSWORD = "correct horse battery"
"""Every seeded user's password."""
USERNAMES: dict[Role, str] = {role: f"{role.value}.demo" for role in Role}


@dataclass(frozen=True)
class Seeded:
    acute: list[str]
    """Study IDs in days 0–14 at `now`."""
    study_ids: list[str]
    now: datetime


def _value(x: Any) -> Any:
    if x is None or x is pd.NaT:
        return None
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, pd.Timestamp):
        return x.to_pydatetime()
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return x


def seed_users(database: Database) -> dict[Role, User]:
    digest = hash_password(PASSWORD)  # one hash for all: argon2 is slow on purpose
    users = {}
    with database.transaction() as session:
        for role, name in USERNAMES.items():
            users[role] = repo.create_user(
                session, None, username=name, password_hash=digest, role=role
            )
    return users


def seed_cohort(
    database: Database, *, now: datetime, patients: int = 6, acute: int = 3, seed: int = 7
) -> Seeded:
    """Simulate `patients` (of whom `acute` are in days 0–14 at `now`) and store them."""
    sim = simulate(patients, seed, now=now, acute_now=acute)
    frames = sim.frames
    with database.transaction() as session:
        actor = repo.get_user_by_username(session, USERNAMES[Role.DATA_MANAGER])
        assert actor is not None
        ids: dict[str, int] = {}
        for p in frames.patients.to_dict("records"):
            row = repo.create_patient(
                session,
                actor,
                PatientIn(
                    study_id=p["study_id"],
                    site=p["site"],
                    sex=p["sex"],
                    diagnosis=p["diagnosis"],
                    birth_year=int(p["birth_year"]),
                    subtype=_value(p["subtype"]),
                    diagnosis_date=_value(p["diagnosis_date"]),
                    prior_therapies=list(p["prior_therapies"] or []),
                ),
            )
            ids[p["study_id"]] = row.id
        for c in frames.courses.to_dict("records"):
            infusion = _value(c["infusion_at"])
            repo.create_course(
                session,
                actor,
                CourseIn(
                    patient_id=ids[c["study_id"]],
                    product=c["product"],
                    target=_value(c["target"]),
                    dose_cells_per_kg=_value(c["dose_cells_per_kg"]),
                    lymphodepletion=_value(c["ld_regimen"]),
                    enrolment_date=_date(c["enrolment_at"]),
                    apheresis_date=_date(c["apheresis_at"]),
                    ld_start_date=_date(c["ld_start_at"]),
                    protocol_id=_value(c["protocol_id"]),
                    infusion_at=infusion,
                ),
            )
        observations = [
            ObservationIn(
                patient_id=ids[o["study_id"]],
                code=o["code"],
                value=float(o["value"]),
                unit=o["unit"],
                effective_at=_value(o["effective_at"]),
                code_system="urn:neurocart:local"
                if o["code"].startswith("local:")
                else "http://loinc.org",
                specimen=o["specimen"],
                source="simulator",
            )
            for o in frames.observations.to_dict("records")
        ]
        for start in range(0, len(observations), 1000):
            repo.add_observations(session, actor, observations[start : start + 1000])
        clinician = repo.get_user_by_username(session, USERNAMES[Role.NEUROLOGIST])
        assert clinician is not None
        for a in frames.assessments.to_dict("records"):
            repo.add_assessment(
                session,
                clinician,
                AssessmentIn(
                    ids[a["study_id"]],
                    a["instrument"],
                    dict(a["inputs"]),
                    _value(a["effective_at"]),
                ),
            )
        for e in frames.events.to_dict("records"):
            grade = _value(e["grade"])
            repo.add_event(
                session,
                clinician,
                EventIn(
                    patient_id=ids[e["study_id"]],
                    type=e["type"],
                    onset_at=_value(e["onset_at"]),
                    end_at=_value(e["end_at"]),
                    grade=int(grade) if grade is not None else None,
                    ctcae_term=_value(e["term"]),
                    drug=_value(e["drug"]),
                    details=dict(e["details"]) if isinstance(e["details"], dict) else {},
                ),
            )
    return Seeded(sim.acute_now(), list(frames.patients["study_id"]), now)


def _date(x: Any) -> Any:
    v = _value(x)
    return v.date() if v is not None else None
