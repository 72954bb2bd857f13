"""FHIR R4 in and out over the real app: transaction and batch Bundles, $everything, metadata.

Every resource neurocart returns is parsed again by two independent model sets: the R4B
models of fhir.resources and fhirclient's R4 models (SMART on FHIR), so a shape either one
refuses fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import fhirclient.models.bundle as fc_bundle
import fhirclient.models.capabilitystatement as fc_capability
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select

from neurocart.services.journal import (
    ACTION_ENTITY,
    ALERT_ROW_ENTITY,
    CHECKPOINT_ENTITY,
    STATUS_ENTITY,
)
from neurocart.store import Database, Patient, repo
from neurocart.store.interop import IngestKey
from neurocart.store.models import AuditEntry, ClinicalEvent, Observation
from tests.api.conftest import Headers
from tests.interop import fhir_bundles as fb


def _post(client: TestClient, body: dict[str, Any], headers: Headers) -> Any:
    return client.post(
        "/fhir", json=body, headers={**headers, "Content-Type": "application/fhir+json"}
    )


MONITOR_WRITTEN = (ALERT_ROW_ENTITY, ACTION_ENTITY, STATUS_ENTITY, CHECKPOINT_ENTITY)


def _counts(database: Database) -> tuple[int, int, int, int]:
    with database.reading() as session:
        return (
            session.scalar(select(func.count()).select_from(Observation)) or 0,
            session.scalar(select(func.count()).select_from(ClinicalEvent)) or 0,
            session.scalar(select(func.count()).select_from(IngestKey)) or 0,
            session.scalar(  # what the feed wrote (the monitor audits its own rows meanwhile)
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.entity_type.not_in(MONITOR_WRITTEN))
            )
            or 0,
        )


def _by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return out


FULL = (
    fb.observation("F445566-1988-5-1", "1988-5", 86.4, "mg/L", specimen="SER"),
    fb.observation("V-1", "8310-5", 101.3, "[degF]", "2025-06-02T10:00:00+08:00"),
    fb.infusion(),
    fb.drug("MAR-2", "L04AC07", "2025-06-03T12:00:00+08:00", 8, "mg/kg"),
    fb.drug("MAR-3", "L01BB05", "2025-05-27T09:00:00+08:00", 30, "mg/m2"),
    fb.encounter(),
    fb.procedure(),
    fb.condition(),
)


def test_transaction_in_everything_out_parsed_by_fhirclient(
    client: TestClient, feed: Headers, patient: Patient
) -> None:
    r = _post(client, fb.bundle(*FULL), feed)
    assert r.status_code == 200, r.text
    response = r.json()
    assert response["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in response["entry"]]
    assert statuses[0] == "200 OK"  # the Patient is matched, never created
    assert statuses[1:8] == ["201 Created"] * 7
    assert response["entry"][1]["response"]["location"].startswith("Observation/")
    assert response["entry"][1]["response"]["location"].endswith("/_history/1")

    out = client.get("/fhir/Patient/NC-0007/$everything", headers=feed)
    assert out.status_code == 200, out.text
    assert out.headers["content-type"].startswith("application/fhir+json")
    bundle = out.json()
    parsed = fc_bundle.Bundle(bundle)  # the independent parser (strict: raises on errors)
    assert parsed.type == "searchset"
    for entry in bundle["entry"]:  # and every resource through the R4B models
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    resources = {e.resource.resource_type for e in parsed.entry}
    assert resources >= {
        "Patient",
        "Condition",
        "Observation",
        "MedicationAdministration",
        "Encounter",
        "Procedure",
    }
    by_type = _by_type(bundle)
    (pat,) = by_type["Patient"]
    assert pat["identifier"] == [{"system": fb.STUDY, "value": "NC-0007"}]
    assert "name" not in pat
    assert "address" not in pat
    crp = next(o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == "1988-5")
    assert crp["valueQuantity"]["value"] == 86.4
    assert crp["valueQuantity"]["code"] == "mg/L"
    assert crp["contained"][0]["type"]["coding"][0]["code"] == "SER"
    parsed_crp = next(
        e.resource
        for e in parsed.entry
        if e.resource.resource_type == "Observation" and e.resource.id == crp["id"]
    )
    assert parsed_crp.effectiveDateTime.datetime == datetime(2025, 6, 2, 22, 20, tzinfo=UTC)
    temp = next(o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == "8310-5")
    assert temp["valueQuantity"] == {
        "value": 38.5,
        "unit": "°C",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
    meds = by_type["MedicationAdministration"]
    cart = next(m for m in meds if "contained" in m)
    assert cart["contained"][0]["batch"]["lotNumber"] == "LOT-2025-0042"
    assert cart["contained"][0]["code"]["text"] == "CT103A"
    assert cart["dosage"]["dose"]["code"] == "{cells}/kg"
    atc = {
        m["medicationCodeableConcept"]["coding"][0]["code"] for m in meds if "contained" not in m
    }
    assert atc == {"L04AC07", "L01BB05"}
    (stay,) = by_type["Encounter"]
    assert stay["period"]["start"] == "2025-06-01T01:00:00+00:00"
    assert stay["class"]["code"] == "IMP"
    (dx,) = by_type["Condition"]
    assert {"system": "http://hl7.org/fhir/sid/icd-10", "code": "G36.0"} in dx["code"]["coding"]
    assert dx["code"]["text"] == "AQP4-IgG positive"


def test_a_retried_bundle_stores_nothing_twice(
    client: TestClient, feed: Headers, patient: Patient, database: Database
) -> None:
    assert _post(client, fb.bundle(*FULL), feed).status_code == 200
    before = _counts(database)
    again = _post(client, fb.bundle(*FULL), feed)
    assert again.status_code == 200
    assert [e["response"]["status"] for e in again.json()["entry"]] == ["200 OK"] * 9
    assert _counts(database) == before
    changed = fb.observation("F445566-1988-5-1", "1988-5", 90.0, "mg/L", specimen="SER")
    warned = _post(client, fb.bundle(changed), feed)  # a "final" resend with another value
    assert warned.status_code == 200
    outcome = warned.json()["entry"][1]["response"]["outcome"]
    assert outcome["issue"][0]["severity"] == "warning"
    assert _counts(database) == before


def test_a_rejected_transaction_stores_nothing_and_names_the_element(
    client: TestClient, feed: Headers, patient: Patient, database: Database
) -> None:
    before = _counts(database)
    bad = fb.bundle(
        fb.observation("OK-1", "1988-5", 12.0, "mg/L"),
        fb.observation("BAD-1", "8310-5", 98.6, "Cel"),  # °F sent as °C
        fb.observation("BAD-2", "1988-5", 5.0, "mg/L", "2025-06-03"),  # a date alone
        fb.observation("BAD-3", "9999-9", 1.0, "mg/L"),  # not in the catalogue
        fb.infusion() | {},
    )
    bad["entry"][5]["resource"]["contained"][0].pop("batch")  # the CAR-T lot is required
    r = _post(client, bad, feed)
    assert r.status_code == 422, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    where = {i["expression"][0]: i["diagnostics"] for i in outcome["issue"]}
    assert "physiologically possible" in where["Bundle.entry[2].resource.valueQuantity.value"]
    assert "Bundle.entry[3].resource.effectiveDateTime" in where
    assert "9999-9" in where["Bundle.entry[4].resource.code.coding"]
    assert "Bundle.entry[5].resource.contained.Medication.batch.lotNumber" in where
    assert _counts(database) == before

    unparseable = fb.bundle(fb.observation("X", "1988-5", 1.0, "mg/L"))
    unparseable["entry"][1]["resource"]["valueQuantity"]["value"] = "lots"
    r = _post(client, unparseable, feed)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.valueQuantity.value"]
    unknown = fb.bundle(fb.observation("Y", "1988-5", 1.0, "mg/L"))
    unknown["entry"][0]["resource"]["identifier"][0]["value"] = "NC-9999"
    r = _post(client, unknown, feed)
    assert r.status_code == 422
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.identifier"]
    assert client.post("/fhir", content=b"{nope", headers=feed).status_code == 400
    assert _counts(database) == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_batch_answers_each_entry_alone(
    client: TestClient, feed: Headers, patient: Patient, database: Database
) -> None:
    body = fb.bundle(
        fb.observation("B-1", "1988-5", 12.0, "mg/L"),
        fb.observation("B-2", "8310-5", 98.6, "Cel"),
        fb.encounter("V-2"),
        kind="batch",
    )
    r = _post(client, body, feed)
    assert r.status_code == 200, r.text
    entries = r.json()["entry"]
    assert r.json()["type"] == "batch-response"
    assert [e["response"]["status"] for e in entries] == [
        "200 OK",
        "201 Created",
        "422 Unprocessable Entity",
        "201 Created",
    ]
    issue = entries[2]["response"]["outcome"]["issue"][0]
    assert issue["expression"] == ["Bundle.entry[2].resource.valueQuantity.value"]
    assert _counts(database)[:3] == (1, 1, 2)


def test_amended_is_a_correction_and_entered_in_error_a_retraction(
    client: TestClient, feed: Headers, patient: Patient, database: Database
) -> None:
    ident = "F445566-1988-5-1"
    assert _post(client, fb.bundle(fb.observation(ident, "1988-5", 86.4, "mg/L")), feed).is_success
    amended = fb.observation(
        ident, "1988-5", 68.4, "mg/L", status="amended", note="haemolysed", method="PUT"
    )
    r = _post(client, fb.bundle(amended), feed)
    assert r.status_code == 200, r.text
    location = r.json()["entry"][1]["response"]["location"]
    assert location.endswith("/_history/2")
    with database.reading() as session:
        rows = repo.list_observations(session, patient.id, history=True)
    assert [(o.value, o.supersedes_id is not None) for o in rows] == [(86.4, False), (68.4, True)]
    assert rows[1].correction_reason == "haemolysed"
    out = _by_type(client.get("/fhir/Patient/NC-0007/$everything", headers=feed).json())
    (crp,) = out["Observation"]
    assert (crp["status"], crp["meta"]["versionId"], crp["valueQuantity"]["value"]) == (
        "corrected",
        "2",
        68.4,
    )
    assert location == f"Observation/{crp['id']}/_history/2"  # id = the chain's root
    wrong = fb.observation(ident, "1988-5", 68.4, "mg/L", status="entered-in-error", method="PUT")
    assert _post(client, fb.bundle(wrong), feed).status_code == 200
    out = _by_type(client.get("/fhir/Patient/NC-0007/$everything", headers=feed).json())
    assert "Observation" not in out
    with database.reading() as session:
        assert repo.list_observations(session, patient.id) == []
    preliminary = fb.observation("P-1", "1988-5", 1.0, "mg/L", status="preliminary")
    r = _post(client, fb.bundle(preliminary), feed)
    assert r.status_code == 422
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.status"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_an_encounter_resent_with_its_discharge_is_a_correction(
    client: TestClient, feed: Headers, patient: Patient, database: Database
) -> None:
    assert _post(client, fb.bundle(fb.encounter()), feed).status_code == 200
    done = fb.encounter(end="2025-06-20T10:00:00+08:00")
    r = _post(client, fb.bundle(done), feed)
    assert r.json()["entry"][1]["response"]["location"].endswith("/_history/2")
    with database.reading() as session:
        (stay,) = repo.list_events(session, patient.id)
    assert stay.end_at == datetime(2025, 6, 20, 2, 0, tzinfo=UTC)
    assert stay.details == {"patient_class": "I", "ward": "HEM"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_metadata_lists_what_is_supported(client: TestClient, feed: Headers) -> None:
    r = client.get("/fhir/metadata", headers=feed)
    assert r.status_code == 200
    statement = fc_capability.CapabilityStatement(r.json())
    assert statement.fhirVersion == "4.0.1"
    types = {res.type for res in statement.rest[0].resource}
    assert types == {
        "Patient",
        "Observation",
        "Condition",
        "Procedure",
        "MedicationAdministration",
        "Encounter",
        "AdverseEvent",
        "Flag",
        "Communication",
    }
    assert {i.code for i in statement.rest[0].interaction} == {"transaction", "batch"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_only_the_feed_role_may_post_and_unknown_patients_are_404(
    client: TestClient, as_role: Any, patient: Patient
) -> None:
    nurse = as_role("nurse")
    assert _post(client, fb.bundle(), nurse).status_code == 403
    assert client.post("/fhir", json=fb.bundle()).status_code == 401
    r = client.get("/fhir/Patient/NC-4040/$everything", headers=nurse)
    assert r.status_code == 404
    assert r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_panels_answers_scores_alerts_and_adverse_events_go_out_as_fhir(
    client: TestClient,
    feed: Headers,
    as_role: Any,
    patient: Patient,
    database: Database,
    tmp_path: Any,
) -> None:
    bp = {
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "identifier": [{"system": fb.LIS, "value": "BP-1"}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "subject": {"reference": fb.PATIENT_URL},
            "effectiveDateTime": "2025-06-02T10:00:00+08:00",
            "component": [
                {
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                    "valueQuantity": {"value": 85, "code": "mm[Hg]"},
                },
                {
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                    "valueQuantity": {"value": 50, "code": "mm[Hg]"},
                },
            ],
        },
        "request": {"method": "POST", "url": "Observation"},
    }
    hbsag = fb.observation("S-1", "5196-1", 0, "{result}", specimen="SER")
    hbsag["resource"].pop("valueQuantity")
    hbsag["resource"]["valueCodeableConcept"] = {
        "coding": [{"system": "http://loinc.org", "code": "LA6577-6"}]
    }
    fever = fb.observation("T-1", "8310-5", 39.2, "Cel", "2025-06-02T10:00:00+08:00")
    r = _post(client, fb.bundle(bp, hbsag, fever), feed)
    assert r.status_code == 200, r.text
    with database.reading() as session:
        stored = {o.code: o.value for o in repo.list_observations(session, patient.id)}
    assert stored == {"8480-6": 85.0, "8462-4": 50.0, "5196-1": 0.0, "8310-5": 39.2}
    doctor = as_role("hematologist")
    crs = {"type": "crs", "onset_at": "2025-06-02T03:00:00Z", "grade": 2}
    assert client.post("/api/v1/patients/NC-0007/events", json=crs, headers=doctor).is_success
    ice = {
        "instrument": "ice",
        "effective_at": "2025-06-02T04:00:00Z",
        "inputs": {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 0},
    }
    r = client.post("/api/v1/patients/NC-0007/assessments", json=ice, headers=doctor)
    assert r.is_success, r.text

    assert client.app.state.runtime.settle()  # type: ignore[attr-defined]  # the alerts stored
    bundle = client.get("/fhir/Patient/NC-0007/$everything", headers=feed).json()
    fc_bundle.Bundle(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    out = _by_type(bundle)
    answer = next(o for o in out["Observation"] if o["code"]["coding"][0]["code"] == "5196-1")
    assert answer["valueCodeableConcept"]["coding"][0]["code"] == "LA6577-6"
    score = next(o for o in out["Observation"] if o["id"].startswith("assessment-"))
    assert score["code"]["coding"][0] == {"system": "urn:neurocart:instrument", "code": "ice"}
    assert score["valueQuantity"]["value"] == 9
    assert {c["code"]["coding"][0]["code"] for c in score["component"]} >= {"orientation"}
    assert score["method"]["text"]
    (ae,) = out["AdverseEvent"]
    assert ae["event"]["coding"][0]["code"] == "crs"
    assert ae["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "2"
    flags = out["Flag"]
    assert flags
    assert all(f["status"] in ("active", "inactive") for f in flags)
    assert any(f["code"]["coding"][0]["system"] == "urn:neurocart:alert-rule" for f in flags)
    said = out["Communication"]
    assert {c["about"][0]["reference"] for c in said} <= {f"Flag/{f['id']}" for f in flags}
    assert any(c["category"][0]["coding"][0]["code"] == "open" for c in said)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_bulk_export_writes_ndjson_per_type(
    database_env: str, database: Database, feed_user: Any, patient: Patient, tmp_path: Any
) -> None:
    from typer.testing import CliRunner

    from neurocart.cli import app as cli
    from neurocart.interop.fhir.inbound import process_bundle

    with database.transaction() as session:
        process_bundle(session, feed_user, fb.bundle(*FULL), source="fhir:test")
    result = CliRunner().invoke(cli, ["fhir", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = {p.stem: p for p in tmp_path.glob("*.ndjson")}
    assert {"Patient", "Observation", "MedicationAdministration", "Encounter"} <= set(files)
    import json

    import fhirclient.models.fhirelementfactory as factory

    for kind, path in files.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == kind
            factory.FHIRElementFactory.instantiate(kind, resource)
    assert "NC-0007" in files["Patient"].read_text(encoding="utf-8")


def _ice(ident: str, value: int | None, **items: int) -> dict[str, Any]:
    system = "urn:neurocart:instrument:ice"
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": fb.LIS, "value": ident}],
        "code": {"coding": [{"system": "urn:neurocart:instrument", "code": "ice"}]},
        "subject": {"reference": fb.PATIENT_URL},
        "effectiveDateTime": "2025-06-03T08:00:00+08:00",
        "component": [
            {"code": {"coding": [{"system": system, "code": k}]}, "valueInteger": v}
            for k, v in items.items()
        ],
    }
    if value is not None:
        resource["valueQuantity"] = {"value": value, "code": "{score}"}
    return {"resource": resource, "request": {"method": "POST", "url": "Observation"}}


def test_a_scored_assessment_is_scored_again_and_a_different_score_refused(
    client: TestClient, feed: Headers, patient: Patient, database: Database
) -> None:
    items = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 0}
    r = _post(client, fb.bundle(_ice("ICE-1", 9, **items)), feed)
    assert r.status_code == 200, r.text
    assert _post(client, fb.bundle(_ice("ICE-1", 9, **items)), feed).status_code == 200
    with database.reading() as session:
        (stored,) = repo.list_assessments(session, patient.id, history=True)
    assert (stored.instrument, stored.value) == ("ice", 9.0)
    wrong = _post(client, fb.bundle(_ice("ICE-2", 10, **items)), feed)
    assert wrong.status_code == 422
    (issue,) = wrong.json()["issue"]
    assert issue["expression"] == ["Bundle.entry[1].resource.value"]
    assert "10" in issue["diagnostics"]
    assert "9" in issue["diagnostics"]
    bad = _post(client, fb.bundle(_ice("ICE-3", None, **{**items, "naming": 7})), feed)
    assert bad.status_code == 422
    assert bad.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.component[1]"]
    # what $everything returns is itself a valid inbound assessment (under its own identifier)
    out = client.get("/fhir/Patient/NC-0007/$everything", headers=feed).json()
    score = next(e["resource"] for e in out["entry"] if e["resource"]["id"].startswith("assess"))
    score.pop("id")
    score["subject"] = {"reference": fb.PATIENT_URL}
    back = _post(
        client,
        fb.bundle({"resource": score, "request": {"method": "POST", "url": "Observation"}}),
        feed,
    )
    assert back.status_code == 200, back.text
    with database.reading() as session:
        assert len(repo.list_assessments(session, patient.id, history=True)) == 2


def _mutations() -> Any:
    from hypothesis import strategies as st

    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    )
    value = st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )
    return st.lists(st.tuples(st.integers(0, 10_000), value), min_size=1, max_size=3)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_a_mangled_bundle_is_a_4xx_never_a_500(
    client: TestClient, feed: Headers, patient: Patient
) -> None:
    """Any element of a valid Bundle replaced by anything JSON can hold: 200, 400 or 422."""
    import copy

    from hypothesis import HealthCheck, given, settings

    base = fb.bundle(*FULL)
    paths = _paths(base)[1:]

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_mutations())
    def check(changes: list[tuple[int, Any]]) -> None:
        body = copy.deepcopy(base)
        for pick, value in changes:
            path = paths[pick % len(paths)]
            node = body
            try:
                for step in path[:-1]:
                    node = node[step]
                node[path[-1]] = value
            except (KeyError, IndexError, TypeError):
                continue
        r = _post(client, body, feed)
        assert r.status_code in (200, 400, 422), (r.status_code, r.text[:500])
        if r.status_code != 200:
            assert r.json()["resourceType"] == "OperationOutcome"

    check()
