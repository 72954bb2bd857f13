"""Bedside entry through the pages: vitals, labs, drugs, supportive care, events, tasks and
corrections — the live check and the save give the same messages, and a decimal comma is
read or refused, never misread."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neurocart.security import Role
from neurocart.services.accounts import signatures_of
from neurocart.store import repo
from neurocart.web.entry import FORMS, VITALS, check
from neurocart.web.numbers import read_number
from tests.web.conftest import World, client_as
from tests.web.seed import PASSWORD, USERNAMES

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "value", "refused"),
    [("38.5", 38.5, False), ("38,5", 38.5, False), ("1,500", None, True), ("1.234,5", None, True),
     ("", None, False), (" 39 ", 39.0, False), ("3e2", None, True), ("nan", None, True)],
)  # fmt: skip
def test_decimal_comma_is_read_or_refused(text: str, value: float | None, refused: bool) -> None:
    number = read_number(text)
    assert number.value == value
    assert (number.error is not None) is refused


def test_impossible_and_blank_values_are_named_not_graded() -> None:
    hot = check(VITALS, {"temperature": "60", "temperature__unit": "°C"}, NOW)
    assert "60 °C is outside" in hot.errors["temperature"]
    assert not hot.ok
    blank = check(VITALS, {"temperature": "", "systolic_bp": ""}, NOW)
    assert blank.errors == {"(form)": "nothing entered: fill in at least one measurement"}
    fahrenheit = check(VITALS, {"temperature": "101,3", "temperature__unit": "°F"}, NOW)
    assert fahrenheit.ok
    assert fahrenheit.notes["temperature"].startswith("read “101,3” as 101.3")
    assert fahrenheit.summary == ["Temperature: 101.3 °F = 38.5 °C"]


def test_tocilizumab_dose_is_checked() -> None:
    form = FORMS["drug"]
    over = check(form, {"drug": "tocilizumab", "dose": "900", "dose__unit": "mg"}, NOW)
    assert "at most 800 mg" in over.errors["dose"]
    ok = check(form, {"drug": "tocilizumab", "dose": "8", "dose__unit": "mg/kg"}, NOW)
    assert ok.ok
    assert ok.events[0]["drug"] == "tocilizumab"


def test_the_live_check_and_the_save_say_the_same(world: World) -> None:
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    page = nurse.get(f"/patients/{sid}/record/vitals")
    assert page.status_code == 200
    assert '<label for="e-temperature">Temperature</label>' in page.text
    live = nurse.post(f"/patients/{sid}/record/vitals/check", data={"temperature": "60"})
    assert "60 °C is outside the physiologically possible range" in live.text
    saved = nurse.post(f"/patients/{sid}/record/vitals", data={"temperature": "60"})
    assert saved.status_code == 422
    assert "60 °C is outside the physiologically possible range" in saved.text


def test_the_live_check_names_each_problem_by_its_label(world: World) -> None:
    sid = world.seeded.acute[0]
    icu = client_as(world, Role.ICU)
    typed = {"agent": "", "rate": "fast"}
    english = icu.post(f"/patients/{sid}/record/vasopressor/check", data=typed)
    problems = english.text.split('id="entry-errors"')[1].split("</ul>")[0]
    assert "<li>Rate: " in problems
    assert "Agent" not in problems  # a required field not yet filled is not an error yet
    chinese = icu.post(
        f"/patients/{sid}/record/vasopressor/check", data=typed,
        headers={"Accept-Language": "zh-CN"},
    )  # fmt: skip
    problems = chinese.text.split('id="entry-errors"')[1].split("</ul>")[0]
    assert "<li>速率：" in problems
    assert "rate" not in problems
    assert "药物" not in problems  # as in English: not filled in yet is not "required" yet


def test_a_nurse_records_vitals_with_a_decimal_comma(world: World) -> None:
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    response = nurse.post(
        f"/patients/{sid}/record/vitals",
        data={"temperature": "39,4", "temperature__unit": "°C", "systolic_bp": "88",
              "systolic_bp__unit": "mmHg", "heart_rate": "118"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303, response.text
    with world.database.reading() as session:
        patient = repo.find_patient(session, sid)
        temps = [o for o in repo.list_observations(session, patient.id) if o.code == "8310-5"]
    assert max(temps, key=lambda o: o.id).value == 39.4


def test_labs_are_converted_at_ingest(world: World) -> None:
    sid = world.seeded.acute[0]
    doctor = client_as(world, Role.HEMATOLOGIST)
    response = doctor.post(
        f"/patients/{sid}/record/labs",
        data={"crp": "12", "crp__unit": "mg/dL", "ferritin": "", "ferritin__unit": "µg/L"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    with world.database.reading() as session:
        patient = repo.find_patient(session, sid)
        crp = [o for o in repo.list_observations(session, patient.id) if o.code == "1988-5"]
    newest = max(crp, key=lambda o: o.id)
    assert (newest.value, newest.unit) == (120.0, "mg/L")


def test_a_hematologist_records_tocilizumab_and_a_nurse_may_not(world: World) -> None:
    sid = world.seeded.acute[0]
    data = {"drug": "tocilizumab", "dose": "560", "dose__unit": "mg", "route": "iv"}
    assert client_as(world, Role.NURSE).get(f"/patients/{sid}/record/drug").status_code == 403
    doctor = client_as(world, Role.HEMATOLOGIST)
    response = doctor.post(f"/patients/{sid}/record/drug", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    with world.database.reading() as session:
        patient = repo.find_patient(session, sid)
        drugs = [e for e in repo.list_events(session, patient.id) if e.drug == "tocilizumab"]
    assert drugs[-1].dose == 560.0
    assert drugs[-1].dose_unit == "mg"


def test_oxygen_and_icu_transfer_are_events(world: World) -> None:
    sid = world.seeded.acute[0]
    icu = client_as(world, Role.ICU)
    for key, data in (
        ("oxygen", {"device": "nasal_cannula", "flow": "4", "flow__unit": "L/min"}),
        ("vasopressor", {"agent": "norepinephrine", "rate": "0,1", "rate__unit": "µg/kg/min"}),
        ("event", {"kind": "icu_transfer"}),
    ):
        response = icu.post(f"/patients/{sid}/record/{key}", data=data, follow_redirects=False)
        assert response.status_code == 303, (key, response.text)
    with world.database.reading() as session:
        patient = repo.find_patient(session, sid)
        events = repo.list_events(session, patient.id)
    assert any(
        e.type.value == "oxygen_support" and e.details.get("flow_l_min") == 4 for e in events
    )
    assert any(e.drug == "norepinephrine" and e.dose == 0.1 for e in events)
    assert any(e.type.value == "hospitalization" and e.details.get("unit") == "icu" for e in events)


def test_a_correction_needs_a_reason_and_keeps_the_old_value(world: World) -> None:
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    with world.database.reading() as session:
        patient = repo.find_patient(session, sid)
        old = repo.list_observations(session, patient.id)[-1]
    url = f"/patients/{sid}/correct/observation/{old.id}"
    assert nurse.get(url).status_code == 200
    refused = nurse.post(url, data={"value": str(old.value), "reason": ""})
    assert refused.status_code == 422
    assert "say why" in refused.text
    unsigned = nurse.post(url, data={"value": str(old.value), "reason": "typo"})
    assert unsigned.status_code == 422
    assert "sign the correction with your password" in unsigned.text
    wrong = nurse.post(url, data={"value": str(old.value), "reason": "typo", "password": "nope"})
    assert wrong.status_code == 422
    assert "does not match your password" in wrong.text
    done = nurse.post(
        url,
        data={"value": str(old.value), "reason": "typo", "password": PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    with world.database.reading() as session:
        assert repo.get_observation(session, old.id).value == old.value  # kept, superseded
        new_id = int(done.headers["location"].split("corrected=")[1].split("#")[0])
        (signed,) = signatures_of(session, "observation", new_id)
    assert (signed.signer, signed.meaning, signed.action) == (
        USERNAMES[Role.NURSE],
        "corrected",
        "correct",
    )


def test_a_blank_temperature_is_never_graded_as_no_crs(world: World) -> None:
    sid = world.seeded.acute[0]
    doctor = client_as(world, Role.HEMATOLOGIST)
    preview = doctor.post(f"/patients/{sid}/assess/crs/preview", data={"hypotension": "on"})
    assert "No CRS" not in preview.text
    assert "Temperature" in preview.text  # still to fill in
    saved = doctor.post(f"/patients/{sid}/assess/crs", data={"hypotension": "on"})
    assert saved.status_code == 422
    assert "a blank is not graded as" in saved.text
    comma = doctor.post(
        f"/patients/{sid}/assess/crs/preview", data={"temperature_c": "38,5", "hypotension": "on"}
    )
    assert "38.5 °C" in comma.text  # read as 38.5, not 385


def test_the_crs_form_opens_prefilled_from_the_record(world: World) -> None:
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    nurse.post(
        f"/patients/{sid}/record/vitals",
        data={"temperature": "39.5", "temperature__unit": "°C", "systolic_bp": "84",
              "systolic_bp__unit": "mmHg"},
    )  # fmt: skip
    page = client_as(world, Role.HEMATOLOGIST).get(f"/patients/{sid}/assess/crs").text
    assert "Prefilled from the record" in page
    assert "lowest systolic" in page
    assert 'name="hypotension" id="f-hypotension" value="on" checked' in page


def test_the_handover_lists_alerts_overdue_tasks_and_changed_records(world: World) -> None:
    sid = world.seeded.acute[0]
    client_as(world, Role.NURSE).post(
        f"/patients/{sid}/record/vitals", data={"heart_rate": "101", "heart_rate__unit": "/min"}
    )
    page = client_as(world, Role.ICU).get("/handover?hours=1")
    assert page.status_code == 200
    assert "Open alerts" in page.text
    assert "Overdue tasks" in page.text
    assert f'<a href="/patients/{sid}">{sid}</a>' in page.text


def test_a_task_done_by_an_assessment_links_to_a_form_that_exists() -> None:
    """The neurological examination is completed by a "neuro_exam" or an ICANS assessment:
    only ICANS has a bedside form, so the chart offers that one (not a 404 page)."""
    from types import SimpleNamespace

    from neurocart.pathway import SlotState
    from neurocart.web.bedside import task_action

    done = SimpleNamespace(events=[], observations=[], assessments=["neuro_exam", "icans"])
    slot = SimpleNamespace(state=SlotState.DUE, task=SimpleNamespace(completed_by=done))
    action = task_action(slot)
    assert action is not None
    assert action["href"] == "assess/icans"
    assert action["label"] == "Record ICANS"
    done.assessments = ["mg_adl"]
    assert task_action(slot) == {"kind": "form", "href": "assess/mg_adl",
                                 "label": "Record MG-ADL"}  # fmt: skip
    done.assessments = ["neuro_exam"]
    assert task_action(slot) is None
