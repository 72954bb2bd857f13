"""The pages in a real headless Chromium against a real uvicorn server (see conftest.py).

Each test saves a full-page screenshot to tests/e2e/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from neurocart.security import Role
from neurocart.store import repo
from neurocart.store.models import Alert, Assessment, AuditEntry
from tests.e2e.conftest import SKIP_REASON, Live, login, shot
from tests.web.seed import PASSWORD, USERNAMES

pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

NEUROLOGIST = USERNAMES[Role.NEUROLOGIST]
NURSE = USERNAMES[Role.NURSE]
ADMIN = USERNAMES[Role.ADMIN]


def post_fever(live: Live, study_id: str, celsius: float = 39.4) -> None:
    """A nurse posts a temperature through the API's observation route (the real monitor
    raises the alert)."""
    import httpx

    body = {
        "code": "8310-5",
        "value": celsius,
        "unit": "°C",
        "effective_at": datetime.now(UTC).isoformat(),
        "source": "bedside",
    }
    r = httpx.post(
        f"{live.url}/api/v1/patients/{study_id}/observations",
        json=body,
        headers=live.bearer(NURSE, Role.NURSE),
        timeout=10,
    )
    assert r.status_code == 201, r.text


def _with_open_alerts(live: Live) -> set[str]:
    with live.database.reading() as session:
        return set(session.scalars(select(Alert.study_id).where(Alert.status == "open")))


def card(page: Any, study_id: str) -> Any:
    return page.locator(f'article[data-study-id="{study_id}"]')


def test_login_then_the_board_lists_the_acute_patients(page: Any, live: Live) -> None:
    page.goto("/board")
    assert "/login" in page.url  # every page needs a login
    login(page, NEUROLOGIST, navigate=False)
    assert page.url.endswith("/board")  # back where the login redirect came from
    listed = page.locator("article[data-study-id]").evaluate_all(
        "cards => cards.map(c => c.dataset.studyId)"
    )
    # the acute patients, plus any other patient with an open alert (raised from the seeded
    # history when the monitor rebuilt itself at start-up)
    assert set(listed) == set(live.seeded.acute) | _with_open_alerts(live)
    first = card(page, live.seeded.acute[0])
    assert re.search(r"day \d+", first.inner_text())
    assert "CRS" in first.inner_text()
    assert "ICANS" in first.inner_text()
    shot(page, "board")


def test_wrong_password_is_refused(page: Any, live: Live) -> None:
    login(page, NEUROLOGIST, "not the password")
    assert "/login" in page.url
    assert "wrong password" in page.inner_text("main")


def test_an_observation_makes_an_alert_appear_without_reload(page: Any, live: Live) -> None:
    study_id = live.seeded.acute[0]
    login(page, NEUROLOGIST)
    assert card(page, study_id).locator(".alert").count() == 0
    page.evaluate("window.__notReloaded = true")
    post_fever(live, study_id)
    alert = card(page, study_id).locator(".alert").first
    alert.wait_for(timeout=12_000)
    assert page.evaluate("window.__notReloaded") is True
    text = alert.inner_text()
    assert "39.4" in text
    assert re.search(r"warning|urgent|critical", text)
    # the alerted patient now ranks ahead of every patient without an alert
    order = page.locator("article[data-study-id]").evaluate_all(
        "cards => cards.map(c => c.dataset.studyId)"
    )
    quiet = [sid for sid in order if sid not in _with_open_alerts(live)]
    assert all(order.index(study_id) < order.index(sid) for sid in quiet)
    shot(page, "board-alert")


def test_acknowledging_an_alert_is_recorded(page: Any, live: Live) -> None:
    study_id = live.seeded.acute[1]
    post_fever(live, study_id, 38.7)
    login(page, NEUROLOGIST)
    alert = card(page, study_id).locator(".alert").first
    alert.wait_for()
    alert_id = alert.get_attribute("data-alert-id")
    alert.get_by_role("button", name="Acknowledge").click()
    card(page, study_id).locator(".acked").first.wait_for()
    assert f"acknowledged by {NEUROLOGIST}" in card(page, study_id).inner_text()
    with live.database.reading() as session:
        recorded = session.scalar(select(Alert).where(Alert.key == alert_id))
        audited = session.scalar(
            select(AuditEntry).where(
                AuditEntry.entity_type == "alert", AuditEntry.action == "acknowledge"
            )
        )
    assert recorded is not None
    assert recorded.acknowledged_by == NEUROLOGIST
    assert recorded.acknowledged_at is not None
    assert audited is not None
    assert audited.actor == NEUROLOGIST
    assert audited.new_values["alert_key"] == alert_id  # type: ignore[index]
    shot(page, "board-acknowledged")


def test_a_nurse_acknowledges_the_fever_nursing_is_paged_for(page: Any, live: Live) -> None:
    study_id = live.seeded.acute[2]
    post_fever(live, study_id, 38.4)
    login(page, NURSE)
    alert = card(page, study_id).locator(".alert").first
    alert.wait_for()
    assert "nursing" in alert.inner_text()
    alert.get_by_role("button", name=re.compile("Acknowledge")).click()
    card(page, study_id).locator(".acked").first.wait_for()
    assert f"acknowledged by {NURSE}" in card(page, study_id).inner_text()


def _ice_count(live: Live, study_id: str) -> int:
    with live.database.reading() as session:
        patient = repo.find_patient(session, study_id)
        query = select(func.count()).where(
            Assessment.patient_id == patient.id, Assessment.instrument == "ice"
        )
        return int(session.scalar(query) or 0)


def test_the_ice_form_computes_the_score_before_saving(page: Any, live: Live) -> None:
    study_id = live.seeded.acute[0]
    before = _ice_count(live, study_id)
    login(page, NURSE)  # ICE is a bedside instrument nurses record
    page.goto(f"/patients/{study_id}/assess/ice")
    save = page.locator("#save-button")
    assert save.is_disabled()
    for item, points in (("orientation", 3), ("naming", 2), ("commands", 1), ("writing", 1)):
        page.locator(f'input[name="{item}"][value="{points}"]').check(force=True)
    page.locator("#result-missing").wait_for()
    assert "Attention" in page.inner_text("#result-missing")
    page.locator('input[name="attention"][value="1"]').check(force=True)
    page.wait_for_function(
        "document.querySelector('#result-label')?.textContent.includes('ICE 8/10')"
    )
    reasons = page.inner_text("#result-reasons")
    assert "orientation (year, month, city, hospital): 3/4" in reasons
    assert "naming three objects: 2/3" in reasons
    assert "Save — ICE 8/10" in save.inner_text()
    assert _ice_count(live, study_id) == before  # shown, not yet saved
    shot(page, "ice-form")

    # a contradiction is named beside its field
    page.locator('input[name="unarousable"]').check()
    error = page.locator("#err-f-orientation")
    page.wait_for_function("document.querySelector('#err-f-orientation').textContent.length > 0")
    assert "unarousable" in error.inner_text()
    assert save.is_disabled()
    shot(page, "ice-form-error")
    page.locator('input[name="unarousable"]').uncheck()
    page.wait_for_function("!document.querySelector('#save-button').disabled")

    save.click()
    page.wait_for_url(re.compile(rf"/patients/{study_id}\?saved=\d+"))
    assert _ice_count(live, study_id) == before + 1
    assert "ICE 8/10" in page.inner_text("#recent ~ section")


def test_the_patient_chart_draws_timeline_vitals_labs_and_kinetics(page: Any, live: Live) -> None:
    study_id = live.seeded.acute[0]
    login(page, NEUROLOGIST)
    page.goto(f"/patients/{study_id}")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 6")
    for chart in ("timeline", "temperature", "bp", "spo2", "anc", "platelets"):
        assert page.locator(f"#chart-{chart}.js-plotly-plot").count() == 1, chart
    temperature = page.inner_text("#chart-temperature")
    assert "fever 38.0 °C" in temperature  # the threshold is labelled, not only coloured
    shot(page, "chart")


def test_a_nurse_cannot_open_the_user_admin_page(page: Any, live: Live) -> None:
    login(page, NURSE)
    assert page.get_by_role("link", name="Users").count() == 0
    response = page.goto("/admin/users")
    assert response is not None
    assert response.status == 403
    assert "Not allowed" in page.inner_text("main")
    assert "nurse" in page.inner_text("main")
    shot(page, "admin-forbidden-nurse")


def test_an_admin_opens_the_user_admin_page(page: Any, live: Live) -> None:
    login(page, ADMIN)
    response = page.goto("/admin/users")
    assert response is not None
    assert response.status == 200
    assert NURSE in page.inner_text("table")
    shot(page, "admin-users")


def test_the_board_event_stream_announces_a_change(live: Live) -> None:
    """The server-sent events the open boards listen to (no browser needed)."""
    import httpx

    with httpx.Client(base_url=live.url, timeout=10) as client:
        client.post("/login", data={"username": NEUROLOGIST, "password": PASSWORD})
        with client.stream("GET", "/board/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            assert next(lines) == "retry: 3000"
            post_fever(live, live.seeded.acute[2], 38.9)
            for line in lines:
                if line.startswith("event:"):  # the panel, or only the changed card
                    assert line in ("event: board", f"event: card-{live.seeded.acute[2]}"), line
                    break
