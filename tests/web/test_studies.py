"""The MRI scan and nerve-conduction study forms: saved through the studies service, refused
naming the field (a nerve row by its number on the form), checked live with the save's own
validation, corrected or retracted (superseded with a reason, signed, audited), and the
chart's course tables and figures drawn from the same rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.security import Role
from neurocart.services import studies
from neurocart.services.accounts import signatures_of
from neurocart.standards import calculate
from neurocart.store import records, repo
from neurocart.store.models import AuditEntry, MriScan, NerveConductionStudy, User
from neurocart.web import chart
from neurocart.web.studies import MRI_FORM, NCS_FORM, read_posted
from tests.web.conftest import World, client_as
from tests.web.seed import PASSWORD, USERNAMES


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
        data={"scan_date": "2020年7月10日", "comparator_date": "2020/1/10", "region": "brain",
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


def _oob(html: str, name: str) -> str:
    """The out-of-band error slot of the field `name` in a live-check reply."""
    return html.split(f'id="err-s-{name.replace(".", "-")}"', 1)[1].split("</div>", 1)[0]


def test_the_mri_live_check_is_the_save_s_own_validation(world: World) -> None:
    sid = world.seeded.acute[0]
    neuro = client_as(world, Role.NEUROLOGIST)
    url = f"/patients/{sid}/studies/mri/check"
    before = _count(world, sid)
    page = neuro.get(f"/patients/{sid}/studies/mri").text
    assert f'hx-post="/patients/{sid}/studies/mri/check"' in page
    assert 'id="study-check"' in page
    blank = neuro.post(url, data={"scan_date": "", "region": "brain"}).text
    assert "Not yet" not in blank  # a field left blank is not an error yet
    zh = {"Accept-Language": "zh-CN"}
    blank_zh = neuro.post(url, data={"scan_date": "", "region": "brain"}, headers=zh).text
    assert "必填" not in blank_zh  # nor in Chinese
    assert _oob(blank, "scan_date").split(">", 1)[1].strip() == ""  # slot swapped, empty
    baseline = neuro.post(url, data={"scan_date": "2021-01-10", "region": "brain"}).text
    assert "not evaluable (no comparator, no enhancement)" in baseline
    active = neuro.post(
        url,
        data={
            "scan_date": "2021-07-10",
            "comparator_date": "2021-01-10",
            "new_t2_lesions": "2",
            "enlarging_t2_lesions": "0",
        },
    ).text
    assert 'id="check-label"' in active
    assert "MRI activity" in active
    assert "2 new and 0 enlarging T2 lesion(s)" in active
    quiet = neuro.post(
        url,
        data={
            "scan_date": "2021-07-10",
            "comparator_date": "2021-01-10",
            "new_t2_lesions": "0",
            "enlarging_t2_lesions": "0",
        },
    ).text
    assert "no MRI activity" in quiet
    low = neuro.post(url, data={"scan_date": "2021-07-10", "field_strength_t": "1"}).text
    assert "not recommended for monitoring" in low  # the calculator's warning, before saving
    # the refusals of a save, word for word, under the field they name
    cases = [
        ({"scan_date": "2021-07-10", "new_t2_lesions": "1"}, "new_t2_lesions"),
        ({"scan_date": "2021-07-10", "gd_enhancing_lesions": "2"}, "gd_enhancing_lesions"),
        ({"scan_date": "2021-07-10", "comparator_date": "2021-08-01", "new_t2_lesions": "0",
          "enlarging_t2_lesions": "0"}, "comparator_date"),
        ({"scan_date": "10.07.2021"}, "scan_date"),
        ({"scan_date": "2021-07-10", "brain_volume_ml": "1,500"}, "brain_volume_ml"),
    ]  # fmt: skip
    for data, name in cases:
        live = _oob(neuro.post(url, data=data).text, name)
        saved = neuro.post(f"/patients/{sid}/studies/mri", data=data)
        assert saved.status_code == 422
        message = live.split(">", 1)[1].strip()
        assert message, (data, live)
        assert message in _oob(saved.text, name), (data, live)
    assert _count(world, sid) == before  # checking stores nothing


def test_the_nerve_conduction_live_check_reads_the_criteria(world: World) -> None:
    sid = world.seeded.acute[1]
    neuro = client_as(world, Role.NEUROLOGIST)
    url = f"/patients/{sid}/studies/ncs/check"
    empty = neuro.post(url, data={"study_date": "2021-02-01"}).text
    assert "enter at least one nerve" not in empty  # no nerve typed yet: not an error yet
    rows = {"nerves.0.nerve": "median", "nerves.0.side": "right", "nerves.0.distal_latency_ms":
            "6,6", "nerves.0.distal_latency_uln_ms": "4.4", "nerves.0.cmap_distal_mv": "6",
            "nerves.0.cmap_lln_mv": "4", "nerves.3.nerve": "ulnar", "nerves.3.side": "right",
            "nerves.3.distal_latency_ms": "5.0", "nerves.3.distal_latency_uln_ms": "3.3",
            "nerves.3.cmap_distal_mv": "8", "nerves.3.cmap_lln_mv": "6"}  # fmt: skip
    strong = neuro.post(url, data={"study_date": "2021-02-01"} | rows).text
    assert "strongly supportive" in strong.split('id="check-label"')[1][:200]
    bad = neuro.post(url, data={"study_date": "2021-02-01"} | rows | {"nerves.3.side": "up"}).text
    assert "expected one of left, right" in _oob(bad, "nerves.3.side")
    assert "row 4: Side" in bad  # the list names the row as numbered on the form
    twice = rows | {"nerves.3.nerve": "median"}
    dup = neuro.post(url, data={"study_date": "2021-02-01"} | twice).text
    assert "given twice" in dup
    assert neuro.post(url, data={"study_date": ""} | rows).text.count("required") == 0


def test_a_nurse_gets_no_live_check_or_correction(world: World) -> None:
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    assert nurse.post(f"/patients/{sid}/studies/mri/check", data={}).status_code == 403
    assert nurse.get(f"/patients/{sid}/studies/mri/1/correct").status_code == 403


def _neurologist(session: Session) -> User:
    user = repo.get_user_by_username(session, USERNAMES[Role.NEUROLOGIST])
    assert user is not None
    return user


def _scan(world: World, sid: str, **values: object) -> MriScan:
    with world.database.transaction() as session:
        pid = repo.find_patient(session, sid).id
        scan = studies.MriScanIn.model_validate(values)
        row = studies.record_mri_scan(session, _neurologist(session), pid, scan)
        session.flush()
        session.expunge(row)
        return row


def _audit(world: World, entity: str, row_id: int) -> list[str]:
    with world.database.reading() as session:
        query = select(AuditEntry.action).where(
            AuditEntry.entity_type == entity, AuditEntry.entity_id == row_id
        )
        return list(session.scalars(query))


def test_an_mri_scan_is_corrected_from_its_form_superseded_signed_and_audited(
    world: World,
) -> None:
    sid = world.seeded.acute[0]
    base = _scan(world, sid, scan_date="2019-01-10", region="brain")
    scan = _scan(world, sid, scan_date="2019-07-10", comparator_date="2019-01-10",
                 region="brain", contrast_given=True, new_t2_lesions=2,
                 enlarging_t2_lesions=0, gd_enhancing_lesions=1,
                 t2_lesion_volume_ml=4.5)  # fmt: skip
    neuro = client_as(world, Role.NEUROLOGIST)
    chart_page = neuro.get(f"/patients/{sid}").text
    url = f"/patients/{sid}/studies/mri/{scan.id}/correct"
    assert f'href="{url}"' in chart_page  # the chart's course table links each scan
    form = neuro.get(url)
    assert form.status_code == 200
    for name, shown in [("scan_date", "2019-07-10"), ("comparator_date", "2019-01-10"),
                        ("new_t2_lesions", "2"), ("gd_enhancing_lesions", "1"),
                        ("t2_lesion_volume_ml", "4.5")]:  # fmt: skip
        assert f'name="{name}" id="s-{name}" value="{shown}"' in form.text, name
    assert 'name="contrast_given" id="s-contrast_given" value="on" checked' in form.text
    assert 'hx-params="not password,reason,action"' in form.text  # the check never gets them
    assert f'action="{url}"' in form.text
    assert "Sign and save correction" in form.text
    # the reader miscounted: 0 new lesions, no contrast given (the count is cleared with it)
    fixed = {
        "scan_date": "2019-07-10",
        "comparator_date": "2019-01-10",
        "region": "brain",
        "new_t2_lesions": "0",
        "enlarging_t2_lesions": "0",
        "t2_lesion_volume_ml": "4,5",
    }
    unsigned = neuro.post(url, data=fixed | {"reason": "miscounted"})
    assert unsigned.status_code == 422
    assert "sign the correction with your password" in unsigned.text
    no_reason = neuro.post(url, data=fixed | {"reason": "", "password": PASSWORD})
    assert no_reason.status_code == 422
    assert "say why the record is corrected" in no_reason.text
    wrong = neuro.post(url, data=fixed | {"reason": "miscounted", "password": "nope"})
    assert "does not match your password" in wrong.text
    refused = neuro.post(url, data=fixed | {"comparator_date": "", "reason": "miscounted",
                                            "password": PASSWORD})  # fmt: skip
    assert refused.status_code == 422
    assert "needs a comparator scan" in _oob(refused.text, "new_t2_lesions")
    done = neuro.post(url, data=fixed | {"reason": "miscounted", "password": PASSWORD},
                      follow_redirects=False)  # fmt: skip
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith("#studies")
    new_id = int(done.headers["location"].split("corrected=")[1].split("#")[0])
    with world.database.reading() as session:
        old = records.get(session, MriScan, scan.id)
        new = records.get(session, MriScan, new_id)
        assert (old.new_t2_lesions, old.gd_enhancing_lesions) == (2, 1)  # kept as it was
        assert (new.supersedes_id, new.correction_reason) == (scan.id, "miscounted")
        assert (new.new_t2_lesions, new.contrast_given, new.gd_enhancing_lesions) == (
            0,
            False,
            None,
        )
        assert new.t2_lesion_volume_ml == 4.5
        pid = repo.find_patient(session, sid).id
        current = [s.id for s, _ in studies.mri_course(session, pid)]
        assert new_id in current
        assert scan.id not in current
        assert base.id in current
        (signed,) = signatures_of(session, "mri_scan", new_id)
    assert (signed.signer, signed.meaning, signed.action) == (
        USERNAMES[Role.NEUROLOGIST], "corrected", "correct")  # fmt: skip
    assert _audit(world, "mri_scan", new_id) == ["correct"]
    again = neuro.post(url, data=fixed | {"reason": "again", "password": PASSWORD})
    assert again.status_code == 422  # a superseded record is corrected once: correct the new one
    assert "correct that one" in again.text
    page = neuro.get(f"/patients/{sid}?corrected={new_id}").text
    assert "Correction saved" in page


def test_a_study_entered_in_error_is_retracted(world: World) -> None:
    sid = world.seeded.acute[1]
    scan = _scan(world, sid, scan_date="2019-03-03", region="spinal_cord")
    neuro = client_as(world, Role.NEUROLOGIST)
    url = f"/patients/{sid}/studies/mri/{scan.id}/correct"
    done = neuro.post(url, data={"action": "retract", "reason": "wrong patient",
                                 "password": PASSWORD}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303, done.text
    new_id = int(done.headers["location"].split("corrected=")[1].split("#")[0])
    with world.database.reading() as session:
        assert records.get(session, MriScan, new_id).entered_in_error
        pid = repo.find_patient(session, sid).id
        assert scan.id not in [s.id for s, _ in studies.mri_course(session, pid)]
        assert signatures_of(session, "mri_scan", new_id)[0].action == "retract"
    assert _audit(world, "mri_scan", new_id) == ["retract"]
    assert neuro.get(f"/patients/{sid}/studies/mri/{new_id}/correct").status_code == 404
    other = world.seeded.acute[0]  # a record is corrected under its own patient only
    assert neuro.get(f"/patients/{other}/studies/mri/{scan.id}/correct").status_code == 404


def test_a_nerve_conduction_study_is_corrected_keeping_its_sensory_nerves(world: World) -> None:
    sid = world.seeded.acute[1]
    median = {
        "nerve": "median",
        "side": "right",
        "distal_latency_ms": 6.6,
        "distal_latency_uln_ms": 4.4,
        "cmap_distal_mv": 6.0,
        "cmap_lln_mv": 4.0,
    }
    ulnar = {
        "nerve": "ulnar",
        "side": "right",
        "distal_latency_ms": 5.0,
        "distal_latency_uln_ms": 3.3,
        "cmap_distal_mv": 8.0,
        "cmap_lln_mv": 6.0,
    }
    sensory = [{"nerve": "sural", "side": "right", "abnormal": True}]  # fmt: skip
    with world.database.transaction() as session:
        pid = repo.find_patient(session, sid).id
        study = studies.record_ncs_study(session, _neurologist(session), pid, studies.NcsStudyIn(
            study_date=date(2019, 5, 1), lab="EMG", nerves=[median, ulnar],
            sensory_nerves=sensory))  # fmt: skip
        study_id = study.id
        before = studies.ncs_criteria_of(study).value
    assert before == "strongly_supportive"
    neuro = client_as(world, Role.NEUROLOGIST)
    url = f"/patients/{sid}/studies/ncs/{study_id}/correct"
    assert f'href="{url}"' in neuro.get(f"/patients/{sid}").text
    form = neuro.get(url).text
    assert 'name="nerves.1.distal_latency_ms" id="s-nerves-1-distal_latency_ms" value="5"' in form
    posted = {
        "study_date": "2019-05-01",
        "lab": "EMG",
        "reason": "ulnar latency mistyped",
        "password": PASSWORD,
    }
    posted |= {f"nerves.0.{k}": str(v) for k, v in median.items()}
    posted |= {f"nerves.1.{k}": str(v) for k, v in ulnar.items()} | {
        "nerves.1.distal_latency_ms": "3.0"}  # fmt: skip
    live = neuro.post(f"/patients/{sid}/studies/ncs/check", data=posted).text
    assert "weakly supportive" in live.split('id="check-label"')[1][:200]
    done = neuro.post(url, data=posted, follow_redirects=False)
    assert done.status_code == 303, done.text
    new_id = int(done.headers["location"].split("corrected=")[1].split("#")[0])
    with world.database.reading() as session:
        new = records.get(session, NerveConductionStudy, new_id)
        assert new.supersedes_id == study_id
        assert [n["distal_latency_ms"] for n in new.nerves] == [6.6, 3.0]
        assert new.sensory_nerves == sensory  # not on the form: kept as recorded
        assert studies.ncs_criteria_of(new).value == "weakly_supportive"
        assert signatures_of(session, "ncs_study", new_id)[0].meaning == "corrected"
    assert _audit(world, "ncs_study", new_id) == ["correct"]


def test_labels_and_names_cover_every_row() -> None:
    names = NCS_FORM.names()
    assert "nerves" in names
    assert "nerves.7.carpal_tunnel" in names
    assert MRI_FORM.names() == [f.name for f in MRI_FORM.fields]
    assert NCS_FORM.labels()["nerves.2.side"] == "row 3: Side"
