"""The MRI scan and nerve-conduction study forms: saved through the studies service, refused
naming the field (a nerve row by its number on the form), and the chart's course tables and
figures drawn from the same rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from neurocart.security import Role
from neurocart.services import studies
from neurocart.standards import calculate
from neurocart.store import repo
from neurocart.web import chart
from neurocart.web.studies import NCS_FORM, read_posted
from tests.web.conftest import World, client_as


def _count(world: World, sid: str) -> tuple[int, int]:
    with world.database.reading() as session:
        pid = repo.find_patient(session, sid).id
        return len(studies.mri_course(session, pid)), len(studies.ncs_course(session, pid))


def test_an_mri_scan_is_saved_and_shown_on_the_chart(world: World) -> None:
    sid = world.seeded.acute[0]
    neuro = client_as(world, Role.NEUROLOGIST)
    before = _count(world, sid)
    assert neuro.get(f"/patients/{sid}/studies/mri").status_code == 200
    base = neuro.post(
        f"/patients/{sid}/studies/mri",
        data={"scan_date": "2020-01-10", "region": "brain", "field_strength_t": "3",
              "contrast_given": "on", "gd_enhancing_lesions": "2", "t2_lesion_volume_ml": "4,5"},
        follow_redirects=False,
    )  # fmt: skip
    assert base.status_code == 303, base.text
    follow = neuro.post(
        f"/patients/{sid}/studies/mri",
        data={"scan_date": "2020-07-10", "comparator_date": "2020-01-10", "region": "brain",
              "new_t2_lesions": "0", "enlarging_t2_lesions": "0", "t2_lesion_volume_ml": "4.1"},
        follow_redirects=False,
    )  # fmt: skip
    assert follow.status_code == 303, follow.text
    assert _count(world, sid) == (before[0] + 2, before[1])
    page = neuro.get(f"/patients/{sid}")
    assert 'id="studies"' in page.text
    assert "2020-07-10" in page.text
    assert "inactive" in page.text
    assert "MRI: active lesions and T2 lesion volume" in page.text


def test_mri_refusals_name_the_field(world: World) -> None:
    sid = world.seeded.acute[0]
    neuro = client_as(world, Role.NEUROLOGIST)
    cases = [
        ({"scan_date": ""}, "scan_date", "required"),
        ({"scan_date": "10.07.2025"}, "scan_date", "expected a date"),
        ({"scan_date": "2025-07-10", "new_t2_lesions": "1"}, "new_t2_lesions", "comparator"),
        ({"scan_date": "2025-07-10", "gd_enhancing_lesions": "2"}, "gd_enhancing_lesions",
         "without contrast"),
        ({"scan_date": "2025-07-10", "new_t2_lesions": "-1", "comparator_date": "2025-01-01",
          "enlarging_t2_lesions": "0"}, "new_t2_lesions", "greater than or equal"),
        ({"scan_date": "2025-07-10", "brain_volume_ml": "1,500"}, "brain_volume_ml", "ambiguous"),
    ]  # fmt: skip
    before = _count(world, sid)
    for data, field, words in cases:
        r = neuro.post(f"/patients/{sid}/studies/mri", data=data)
        assert r.status_code == 422, (data, r.text)
        error = r.text.split(f'id="err-s-{field}"', 1)[1].split("</div>", 1)[0]
        assert words in error, (data, error)
    assert _count(world, sid) == before


def test_a_nerve_conduction_study_is_saved_with_its_criteria(world: World) -> None:
    sid = world.seeded.acute[1]
    neuro = client_as(world, Role.NEUROLOGIST)
    before = _count(world, sid)
    median = {"nerve": "median", "side": "right", "distal_latency_ms": "6,6",
              "distal_latency_uln_ms": "4.4", "cmap_distal_mv": "6", "cmap_lln_mv": "4",
              "conduction_velocity_m_s": "40"}  # fmt: skip
    ulnar = {"nerve": "ulnar", "side": "right", "distal_latency_ms": "5.0",
             "distal_latency_uln_ms": "3.3", "cmap_distal_mv": "8", "cmap_lln_mv": "6"}  # fmt: skip
    # row 1 left blank on purpose: the rows posted are 0 and 2
    data = {"study_date": "2020-02-01", "lab": "EMG lab"}
    data |= {f"nerves.0.{k}": v for k, v in median.items()}
    data |= {f"nerves.2.{k}": v for k, v in ulnar.items()}
    saved = neuro.post(f"/patients/{sid}/studies/ncs", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert _count(world, sid) == (before[0], before[1] + 1)
    page = neuro.get(f"/patients/{sid}").text
    assert "strongly supportive" in page
    assert "Motor conduction velocity" in page

    bad = dict(data) | {"nerves.2.nerve": "median", "nerves.2.cmap_distal_mv": "abc"}
    refused = neuro.post(f"/patients/{sid}/studies/ncs", data=bad)
    assert refused.status_code == 422
    assert "expected a number" in refused.text.split('id="err-s-nerves-2-cmap_distal_mv"')[1][:200]
    twice = dict(data) | {"nerves.2.nerve": "median"}
    dup = neuro.post(f"/patients/{sid}/studies/ncs", data=twice)
    assert dup.status_code == 422
    assert "given twice" in dup.text
    unknown = dict(data) | {"nerves.2.side": "up"}
    assert (
        "expected one of left, right"
        in neuro.post(f"/patients/{sid}/studies/ncs", data=unknown).text.split(
            'id="err-s-nerves-2-side"'
        )[1][:200]
    )
    assert (
        "enter at least one nerve"
        in neuro.post(f"/patients/{sid}/studies/ncs", data={"study_date": "2020-02-01"}).text
    )
    assert _count(world, sid) == (before[0], before[1] + 1)


def test_row_numbers_survive_blank_rows() -> None:
    values, errors = read_posted(NCS_FORM, {"study_date": "2020-01-01", "nerves.3.nerve": "ulnar",
                                            "nerves.3.side": "left"})  # fmt: skip
    assert not errors
    assert values["nerves"] == [(3, {"nerve": "ulnar", "side": "left"})]


def test_a_nurse_may_not_record_studies(world: World) -> None:
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    assert nurse.get(f"/patients/{sid}/studies/mri").status_code == 403


class _Scan:
    """A stored scan's attributes, for the table (no store needed)."""

    def __init__(self, **kw: object) -> None:
        defaults = {"comparator_date": None, "region": type("R", (), {"value": "brain"})(),
                    "new_t2_lesions": None, "enlarging_t2_lesions": None,
                    "gd_enhancing_lesions": None, "contrast_given": False,
                    "t2_lesion_volume_ml": None, "brain_volume_ml": None,
                    "pbvc_percent": None}  # fmt: skip
        self.__dict__.update(defaults | kw)


def test_the_mri_figure_is_the_table() -> None:
    infusion = datetime(2025, 3, 3, 10, tzinfo=UTC)
    base = _Scan(scan_date=date(2025, 2, 1), contrast_given=True, gd_enhancing_lesions=3,
                 t2_lesion_volume_ml=5.0)  # fmt: skip
    follow = _Scan(scan_date=date(2025, 9, 1), comparator_date=date(2025, 2, 1),
                   new_t2_lesions=1, enlarging_t2_lesions=2, t2_lesion_volume_ml=4.0)  # fmt: skip
    course = [
        (base, calculate("mri_activity", {"scan_date": "2025-02-01", "gd_enhancing_lesions": 3})),
        (follow, calculate("mri_activity", {"scan_date": "2025-09-01",
                                            "comparator_date": "2025-02-01",
                                            "new_t2_lesions": 1, "enlarging_t2_lesions": 2})),
    ]  # fmt: skip
    table = chart.mri_table(course, infusion)  # type: ignore[arg-type]
    assert [r[0] for r in table.rows] == [-30, 182]
    assert [r[-1] for r in table.rows] == ["active", "active"]
    assert table.figure is not None
    traces = {t["name"]: t for t in table.figure["data"]}
    assert traces["new + enlarging T2"]["y"] == [None, 3]
    assert traces["Gd-enhancing"]["y"] == [3, None]
    assert traces["T2 lesion volume (mL)"]["y"] == [5.0, 4.0]
    assert traces["T2 lesion volume (mL)"]["x"] == [r[0] for r in table.rows]
