"""Small builders of valid records for the store tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from neurocart.store import Patient, User, repo

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
EASIX_INPUTS = {"ldh_u_l": 250, "creatinine_umol_l": 80, "platelets_10e9_l": 150}


def patient(session: Session, actor: User | None, study_id: str = "NC-001") -> Patient:
    return repo.create_patient(
        session,
        actor,
        repo.PatientIn(
            study_id=study_id,
            site="ERL",
            sex="female",
            diagnosis="mg",
            birth_year=1980,
            subtype="AChR+",
            diagnosis_date=date(2015, 6, 1),
            prior_therapies=["rituximab", "eculizumab"],
        ),
    )


def temperatures(patient_id: int, n: int, start: float = 37.0) -> list[repo.ObservationIn]:
    return [
        repo.ObservationIn(
            patient_id=patient_id,
            code="8310-5",
            value=start + i * 0.01,
            unit="Cel",
            effective_at=T0 + timedelta(hours=i),
            source="bedside",
        )
        for i in range(n)
    ]
