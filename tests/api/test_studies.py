"""MRI scan and nerve-conduction study records over the API: stored append-only, audited,
returned with their reading (MRI activity; EAN/PNS 2021 CIDP criteria), bad input refused
naming the field, permissions by role."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from neurocart.store import Patient, audit
from tests.api.conftest import Headers, signature

MRI = "/api/v1/patients/P-001/mri-scans"
NCS = "/api/v1/patients/P-001/ncs-studies"
MEDIAN = {"nerve": "median", "side": "right", "distal_latency_ms": 6.6,
          "distal_latency_uln_ms": 4.4, "cmap_distal_mv": 6, "cmap_lln_mv": 4.0}  # fmt: skip
ULNAR = {"nerve": "ulnar", "side": "right", "distal_latency_ms": 5.0,
         "distal_latency_uln_ms": 3.3, "cmap_distal_mv": 8, "cmap_lln_mv": 6.0}  # fmt: skip


def test_mri_scans_are_read_against_their_comparator(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database
) -> None:
    neuro = as_role("neurologist")
    base = client.post(
        MRI,
        json={"scan_date": "2025-01-10", "field_strength_t": 3.0, "brain_volume_ml": 1450,
              "contrast_given": True, "gd_enhancing_lesions": 0},
        headers=neuro,
    )  # fmt: skip
    assert base.status_code == 201, base.text
    assert base.json()["activity"]["value"] == "not_evaluable"
    follow = client.post(
        MRI,
        json={"scan_date": "2026-01-10", "comparator_date": "2025-01-10", "new_t2_lesions": 0,
              "enlarging_t2_lesions": 0, "field_strength_t": 1.5, "brain_volume_ml": 1441.3},
        headers=neuro,
    )  # fmt: skip
    assert follow.status_code == 201, follow.text
    activity = follow.json()["activity"]
    assert activity["value"] == "inactive"
    assert activity["details"]["pbvc_percent"] == -0.6
    assert any("differs from the comparator" in w for w in activity["warnings"])

    fixed = client.post(
        f"/api/v1/mri-scans/{follow.json()['id']}/correction",
        json={
            "signature": signature(),
            "reason": "report addendum",
            "changes": {"new_t2_lesions": 1},
        },
        headers=neuro,
    )
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["activity"]["value"] == "active"
    assert fixed.json()["supersedes_id"] == follow.json()["id"]
    listed = client.get(MRI, headers=as_role("monitor")).json()
    assert [s["activity"]["value"] for s in listed] == ["not_evaluable", "active"]
    assert len(client.get(MRI + "?history=true", headers=neuro).json()) == 3
    with database.reading() as session:
        assert audit.verify(session).ok


def test_mri_bad_input_is_refused_naming_the_field(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    neuro = as_role("neurologist")
    cases = [
        ({"scan_date": "2025-07-10", "new_t2_lesions": 0}, "new_t2_lesions"),
        ({"scan_date": "2025-07-10", "comparator_date": "2025-08-01", "new_t2_lesions": 0,
          "enlarging_t2_lesions": 0}, "comparator_date"),
        ({"scan_date": "2025-07-10", "gd_enhancing_lesions": 2}, "gd_enhancing_lesions"),
        ({"scan_date": "2025-07-10", "region": "liver"}, "region"),
        ({"scan_date": "2025-07-10", "new_t2_lesions": -1}, "new_t2_lesions"),
    ]  # fmt: skip
    for body, field in cases:
        r = client.post(MRI, json=body, headers=neuro)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["detail"][0]["field"], (body, r.json())
    assert client.get(MRI, headers=neuro).json() == []
    ok = client.post(MRI, json={"scan_date": "2025-07-10"}, headers=neuro).json()
    bad = client.post(
        f"/api/v1/mri-scans/{ok['id']}/correction",
        json={"signature": signature(), "reason": "x", "changes": {"brain": 1}},
        headers=neuro,
    )
    assert bad.status_code == 422
    assert "brain" in bad.json()["detail"][0]["field"]


def test_ncs_study_gives_the_criteria(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    neuro = as_role("neurologist")
    r = client.post(NCS, json={"study_date": "2025-02-01", "lab": "EMG lab",
                               "nerves": [MEDIAN, ULNAR]}, headers=neuro)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["criteria"]["value"] == "strongly_supportive"
    month6 = client.post(
        NCS,
        json={"study_date": "2025-08-01", "nerves": [MEDIAN, {**ULNAR, "distal_latency_ms": 3.0}]},
        headers=neuro,
    )
    assert month6.json()["criteria"]["value"] == "weakly_supportive"
    gone = client.post(
        f"/api/v1/ncs-studies/{month6.json()['id']}/retraction",
        json={"signature": signature(), "reason": "wrong patient"},
        headers=neuro,
    )
    assert gone.status_code == 201
    assert gone.json()["criteria"] is None
    assert len(client.get(NCS, headers=neuro).json()) == 1


def test_ncs_bad_input_and_permissions(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient
) -> None:
    neuro = as_role("neurologist")
    dup = client.post(NCS, json={"study_date": "2025-02-01", "nerves": [MEDIAN, MEDIAN]},
                      headers=neuro)  # fmt: skip
    assert dup.status_code == 422
    assert dup.json()["detail"][0]["field"].startswith("nerves")
    assert client.post(NCS, json={"study_date": "2025-02-01", "nerves": [MEDIAN]},
                       headers=as_role("nurse")).status_code == 403  # fmt: skip
    assert client.post(MRI, json={"scan_date": "2025-02-01"},
                       headers=as_role("monitor")).status_code == 403  # fmt: skip
    assert client.get(NCS, headers=as_role("nurse")).status_code == 200
