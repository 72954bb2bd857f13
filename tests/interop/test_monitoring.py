"""Monitoring sees a fever the same whichever door it came through: REST, FHIR or HL7 v2.

Three patients with the same CAR-T course get the same three temperatures on study day 1,
one by the REST API, one in a FHIR transaction Bundle, one as HL7 ORU^R01 messages; the
alert episodes the monitor persists must be identical but for the patient.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from neurocart.interop.hl7.receiver import Receiver
from neurocart.store import Database, User, repo
from neurocart.store.models import Alert
from tests.api.conftest import Headers
from tests.interop import fhir_bundles as fb
from tests.interop import hl7_messages as hm
from tests.interop.conftest import INFUSION

FEVER = ((0, 38.3), (30, 38.6), (59, 38.4))
DAY1 = INFUSION + timedelta(days=1)


def _patients(database: Database) -> None:
    with database.transaction() as session:
        for study_id in ("NC-REST", "NC-FHIR", "NC-HL7"):
            p = repo.create_patient(
                session,
                None,
                repo.PatientIn(study_id=study_id, site="SITE_A", sex="male", diagnosis="mg"),
            )
            repo.create_course(
                session,
                None,
                repo.CourseIn(patient_id=p.id, product="CT103A", infusion_at=INFUSION),
            )


def _alerts(database: Database, study_id: str) -> list[tuple[Any, ...]]:
    with database.reading() as session:
        rows = session.scalars(select(Alert).where(Alert.study_id == study_id).order_by(Alert.id))
        return [
            (
                a.rule_id,
                a.episode,
                a.severity,
                a.grade,
                a.status,
                tuple(a.disciplines),
                a.opened_at,
                a.values,
                a.text.replace(study_id, "<id>"),
            )
            for a in rows
        ]


def test_a_fever_alerts_alike_by_rest_fhir_and_hl7(
    app: FastAPI,
    client: TestClient,
    database: Database,
    feed: Headers,
    feed_user: User,
) -> None:
    _patients(database)
    for minute, t in FEVER:
        at = (DAY1 + timedelta(minutes=minute)).isoformat()
        row = {"code": "8310-5", "value": t, "unit": "Cel", "effective_at": at, "source": "ward"}
        r = client.post("/api/v1/patients/NC-REST/observations", json=row, headers=feed)
        assert r.status_code == 201, r.text

    entries = [
        fb.observation(
            f"T-{minute}", "8310-5", t, "Cel", (DAY1 + timedelta(minutes=minute)).isoformat()
        )
        for minute, t in FEVER
    ]
    body = fb.bundle(*entries)
    body["entry"][0] = fb.patient_entry("NC-FHIR")
    r = client.post("/fhir", json=body, headers=feed)
    assert r.status_code == 200, r.text

    receiver = Receiver(database, feed_user)
    for minute, t in FEVER:
        at = (DAY1 + timedelta(minutes=minute)).strftime("%Y%m%d%H%M%S+0000")
        ack = receiver.handle(hm.temperature(f"T{minute}", str(t), at, "NC-HL7^^^NEUROCART^PI"))
        assert hm.msa(ack)[1] == "AA", ack
    assert app.state.runtime.settle()  # the monitor reads all three doors from the journal

    rest = _alerts(database, "NC-REST")
    assert rest, "the REST fever raised no alert"
    assert any(a[1] == "crs" for a in rest)
    assert _alerts(database, "NC-FHIR") == rest
    assert _alerts(database, "NC-HL7") == rest
