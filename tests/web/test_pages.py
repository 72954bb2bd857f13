"""The pages over HTTP: login, role-aware access, forms that preview and save."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neurocart.security import Role
from neurocart.services.journal import Journal
from neurocart.store import repo
from neurocart.web.auth import COOKIE, safe_next
from tests.web.conftest import World, client_as
from tests.web.seed import PASSWORD, USERNAMES

ICE_8 = {"orientation": "3", "naming": "2", "commands": "1", "writing": "1", "attention": "1"}


def test_every_page_needs_a_login(world: World) -> None:
    anonymous = client_as(world, None)
    study_id = world.seeded.acute[0]
    for path in ("/", "/board", "/board/panel", f"/patients/{study_id}", "/admin/users"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    htmx = anonymous.get("/board/panel", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login")


def test_login_sets_a_strict_httponly_cookie_and_logout_clears_it(world: World) -> None:
    client = client_as(world, None)
    response = client.post(
        "/login",
        data={"username": USERNAMES[Role.NURSE], "password": PASSWORD, "next": "/board"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/board"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=nc1.")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert client.get("/board").status_code == 200
    client.post("/logout")
    assert client.get("/board", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(world: World) -> None:
    client = client_as(world, None)
    for username, password in ((USERNAMES[Role.NURSE], "wrong"), ("nobody", PASSWORD)):
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 401
        assert "Unknown user, wrong password, or deactivated account." in response.text
        assert COOKIE not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("target", "safe"),
    [("/patients/NC-1", "/patients/NC-1"), ("//evil.example", "/"), ("https://evil", "/"),
     ("", "/"), ("board", "/")],
)  # fmt: skip
def test_only_local_paths_follow_a_login(target: str, safe: str) -> None:
    assert safe_next(target) == safe


def test_a_forged_cookie_is_not_a_session(world: World) -> None:
    client = client_as(world, None)
    client.cookies.set(COOKIE, "nc1.e30.AAAA")
    assert client.get("/board", follow_redirects=False).status_code == 303


def test_the_board_shows_the_acute_patients(world: World) -> None:
    page = client_as(world, Role.NEUROLOGIST).get("/board").text
    for study_id in world.seeded.acute:
        assert f'data-study-id="{study_id}"' in page
    assert 'sse-connect="/board/events?since=' in page
    assert 'hx-trigger="sse:board"' in page  # no polling: the stream pushes what changed
    for study_id in world.seeded.acute:
        assert f'sse-swap="card-{study_id}"' in page


def test_the_chart_renders_figures_with_thresholds(world: World) -> None:
    study_id = world.seeded.acute[0]
    page = client_as(world, Role.NURSE).get(f"/patients/{study_id}").text
    assert 'id="chart-temperature"' in page
    assert "fever 38.0 °C" in page
    assert 'id="chart-timeline"' in page
    # the simulated single-cell readouts of the pre-treatment puncture (CAR+ 0 before day 0)
    assert 'id="chart-sc_b_plasma"' in page
    assert 'id="chart-sc_car"' in page
    assert f"/patients/{study_id}/assess/ice" in page  # a nurse records ICE
    assert f"/patients/{study_id}/assess/crs" not in page  # ... but not CRS
    assert client_as(world, Role.NURSE).get("/patients/NOPE").status_code == 404


def test_the_chart_draws_every_neuro_immunology_readout_the_record_holds(world: World) -> None:
    from neurocart.web import chart

    panels = {p.key: p for p in (*chart.LAB_PANELS, *chart.TIMED_PANELS)}
    readouts = ("kflc_index", "igg_index", "qalb", "ocb", "titres", "cd19", "t25fw", "nhpt",
                "sdmt")  # fmt: skip
    client = client_as(world, Role.NEUROLOGIST)
    drawn: set[str] = set()
    for study_id in world.seeded.study_ids:
        with world.database.reading() as session:
            patient = repo.find_patient(session, study_id)
            stored = {o.code for o in repo.list_observations(session, patient.id)}
        page = client.get(f"/patients/{study_id}").text
        for key in readouts:
            held = any(s.code in stored for s in panels[key].series)
            assert (f'id="chart-{key}"' in page) is held, (study_id, key)
            drawn |= {key} if held else set()
    assert {"ocb", "titres", "cd19"} <= drawn  # the simulated record has them


def test_the_csf_index_panels_are_the_stored_values_with_the_calculators_limits() -> None:
    from dataclasses import dataclass

    from neurocart.standards import igg_index, kflc_index
    from neurocart.web import chart

    @dataclass(frozen=True)
    class Reading:
        code: str
        effective_at: datetime
        value: float
        unit: str

    infusion = datetime(2025, 3, 3, tzinfo=UTC)
    rows = [
        Reading("local:kflc_index", infusion - timedelta(days=14), 42.5, "{index}"),
        Reading("local:kflc_index", infusion + timedelta(days=21), 30.0, "{index}"),
        Reading("local:lflc_index", infusion + timedelta(days=21), 6.0, "{index}"),
        Reading("14117-6", infusion + timedelta(days=365), 0.55, "{index}"),
    ]
    panels = {p.key: p for p in chart.LAB_PANELS}
    kflc = chart.panel_figure(panels["kflc_index"], chart.by_code(rows), infusion)
    assert kflc is not None
    assert [(t["name"], t["x"], t["y"]) for t in kflc["data"]] == [
        ("κFLC", [-14.0, 21.0], [42.5, 30.0]),
        ("λFLC", [21.0], [6.0]),
    ]
    assert [s["y0"] for s in kflc["layout"]["shapes"]] == [kflc_index.DEFAULT_CUTOFF]
    igg = chart.panel_figure(panels["igg_index"], chart.by_code(rows), infusion)
    assert igg is not None
    assert [(t["x"], t["y"]) for t in igg["data"]] == [([365.0], [0.55])]
    assert [s["y0"] for s in igg["layout"]["shapes"]] == [igg_index.DEFAULT_ULN]
    assert chart.panel_figure(panels["qalb"], chart.by_code(rows), infusion) is None


def test_plotly_is_served_from_the_python_package(world: World) -> None:
    response = client_as(world, None).get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert "plotly" in response.text[:2000].lower()
    assert client_as(world, None).get("/static/htmx.min.js").status_code == 200


def test_a_nurse_gets_403_on_the_user_admin_page_and_an_admin_does_not(world: World) -> None:
    nurse = client_as(world, Role.NURSE)
    response = nurse.get("/admin/users")
    assert response.status_code == 403
    assert "may not admin users" in response.text
    assert nurse.post("/admin/users", data={"username": "x"}).status_code == 403
    chinese = nurse.get("/admin/users", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 403
    assert "您的角色（护士）无权执行：管理用户。" in chinese.text
    assert "admin users" not in chinese.text
    admin = client_as(world, Role.ADMIN)
    assert USERNAMES[Role.NURSE] in admin.get("/admin/users").text


def test_an_admin_adds_and_deactivates_a_user(world: World) -> None:
    admin = client_as(world, Role.ADMIN)
    short = admin.post("/admin/users", data={"username": "n2", "role": "nurse", "password": "x"})
    assert short.status_code == 422
    assert "password: at least 12 characters" in short.text
    created = admin.post(
        "/admin/users", data={"username": "nurse.two", "role": "nurse", "password": PASSWORD}
    )
    assert created.status_code == 201
    with world.database.reading() as session:
        user = repo.get_user_by_username(session, "nurse.two")
    assert user is not None
    assert user.role is Role.NURSE
    nurse_two = client_as(world, None)
    nurse_two.post("/login", data={"username": "nurse.two", "password": PASSWORD})
    assert nurse_two.get("/board").status_code == 200
    asked = admin.post(f"/admin/users/{user.id}/active", data={"active": "false"})
    assert "Deactivate nurse.two?" in asked.text  # a confirmation first, nothing changed yet
    assert nurse_two.get("/board").status_code == 200
    admin.post(f"/admin/users/{user.id}/active", data={"active": "false", "confirm": "yes"})
    # deactivation ends the session at once
    assert nurse_two.get("/board", follow_redirects=False).status_code == 303


def test_a_post_from_another_site_is_refused(world: World) -> None:
    admin = client_as(world, Role.ADMIN)
    response = admin.post(
        "/admin/users",
        data={"username": "evil", "role": "admin", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_the_preview_shows_the_result_with_reasons(world: World) -> None:
    study_id = world.seeded.acute[0]
    client = client_as(world, Role.NURSE)
    response = client.post(f"/patients/{study_id}/assess/ice/preview", data=ICE_8)
    assert response.status_code == 200
    assert 'id="result-label">ICE 8/10<' in response.text
    assert "naming three objects: 2/3" in response.text
    assert "Save — ICE 8/10" in response.text
    assert "ICANS from this ICE alone" in response.text


def test_the_preview_names_missing_items_apart_and_bad_values_beside_the_field(
    world: World,
) -> None:
    study_id = world.seeded.acute[0]
    client = client_as(world, Role.NURSE)
    partial = client.post(f"/patients/{study_id}/assess/ice/preview", data={"orientation": "4"})
    assert "Still to fill in:</strong> Naming, Commands, Writing, Attention" in partial.text
    assert '<div class="error" id="err-f-naming" hx-swap-oob="true" aria-live="polite"></div>' in (
        partial.text
    )
    contradiction = client.post(
        f"/patients/{study_id}/assess/ice/preview", data={**ICE_8, "unarousable": "on"}
    )
    assert (
        'id="err-f-orientation" hx-swap-oob="true" aria-live="polite">an unarousable patient'
        in contradiction.text
    )
    assert "disabled>Save (complete the form first)" in contradiction.text


def test_saving_records_the_assessment_through_the_store(world: World) -> None:
    study_id = world.seeded.acute[1]
    at = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M")
    response = client_as(world, Role.NURSE).post(
        f"/patients/{study_id}/assess/ice",
        data={**ICE_8, "effective_at": at},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/patients/{study_id}?saved=")
    with world.database.reading() as session:
        patient = repo.find_patient(session, study_id)
        latest = max(
            repo.list_assessments(session, patient.id, instrument="ice"), key=lambda a: a.id
        )
        trail = repo.audit_trail(session, "assessment", latest.id)
    assert latest.label == "ICE 8/10"
    assert latest.effective_at.strftime("%Y-%m-%dT%H:%M") == at
    assert [e.actor for e in trail] == [USERNAMES[Role.NURSE]]
    with world.database.reading() as session:  # the monitor will read it from the journal
        (entry,) = Journal.entries(session, trail[0].seq - 1, upto=trail[0].seq)
    assert (entry.entity_type, entry.entity_id) == ("assessment", latest.id)


def test_an_invalid_save_changes_nothing_and_names_the_field(world: World) -> None:
    study_id = world.seeded.acute[1]
    with world.database.reading() as session:
        before = len(repo.list_assessments(session, repo.find_patient(session, study_id).id))
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client = client_as(world, Role.NURSE)
    incomplete = client.post(f"/patients/{study_id}/assess/ice", data={"orientation": "9"})
    assert incomplete.status_code == 422
    assert 'id="err-f-orientation"' in incomplete.text
    assert "must be 0–4" in incomplete.text
    late = client.post(f"/patients/{study_id}/assess/ice", data={**ICE_8, "effective_at": future})
    assert late.status_code == 422
    assert "must not be in the future" in late.text
    with world.database.reading() as session:
        after = len(repo.list_assessments(session, repo.find_patient(session, study_id).id))
    assert after == before


def test_a_nurse_may_not_record_physician_instruments(world: World) -> None:
    study_id = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    assert nurse.get(f"/patients/{study_id}/assess/crs").status_code == 403
    assert nurse.post(f"/patients/{study_id}/assess/crs", data={}).status_code == 403
    assert client_as(world, Role.MONITOR).get(f"/patients/{study_id}/assess/ice").status_code == 403
    neurologist = client_as(world, Role.NEUROLOGIST)
    page = neurologist.get(f"/patients/{study_id}/assess/icans?ice_score=8&bogus=1")
    assert page.status_code == 200
    assert 'name="ice_score" value="8" checked' not in page.text  # 0–10 is a number field
    assert 'name="ice_score" id="f-ice_score" value="8"' in page.text
    assert neurologist.get(f"/patients/{study_id}/assess/nonsense").status_code == 404


def test_acknowledging_an_unknown_alert_says_so(world: World) -> None:
    neurologist = client_as(world, Role.NEUROLOGIST)
    response = neurologist.post(
        "/alerts/ack", data={"alert_id": "nope"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "That alert is no longer open." in response.text
    other = client_as(world, Role.DATA_MANAGER).post("/alerts/ack", data={"alert_id": "x"})
    assert other.status_code == 403


def test_viewing_a_chart_is_a_logged_read(world: World) -> None:
    from neurocart.services.reads import list_reads

    study_id = world.seeded.acute[0]
    with world.database.reading() as session:
        before = len(list_reads(session, study_id=study_id, what="chart"))
    assert client_as(world, Role.NURSE).get(f"/patients/{study_id}").status_code == 200
    with world.database.reading() as session:
        views = list_reads(session, study_id=study_id, what="chart")
    assert len(views) == before + 1
    assert views[0].role == "nurse"


def _reads(world: World, what: str) -> list[Any]:
    from neurocart.services.reads import list_reads

    with world.database.reading() as session:
        return list_reads(session, what=what)


def test_each_board_view_is_one_logged_read_naming_the_patients_shown(world: World) -> None:
    """The board shows every acute patient's vitals, grades, tasks and alerts: the page, the
    panel the live board re-fetches, and the panel an action answers with are one entry each,
    naming the study IDs shown, as the API's alert list does."""
    nurse = client_as(world, Role.NURSE)
    before = len(_reads(world, "board"))
    assert nurse.get("/board").status_code == 200
    assert nurse.get("/board/panel?view=compact").status_code == 200
    refused = client_as(world, Role.DATA_MANAGER).post(
        "/alerts/ack", data={"alert_id": "nope"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 403  # not allowed to act: no panel, no read
    doctor = client_as(world, Role.NEUROLOGIST)
    assert doctor.post(
        "/alerts/ack", data={"alert_id": "nope"}, headers={"HX-Request": "true"}
    ).status_code == 200  # fmt: skip
    views = _reads(world, "board")
    assert len(views) == before + 3
    answer, panel, page = views[:3]  # newest first
    shown = sorted(world.seeded.acute)
    assert (page.actor, page.role) == (USERNAMES[Role.NURSE], "nurse")
    assert page.study_id is None  # a listing over many patients names them in its scope
    assert page.scope == {"study_ids": shown, "patients": len(shown)}
    assert panel.scope == {"study_ids": shown, "patients": len(shown), "view": "compact"}
    assert answer.role == "neurologist"
    assert answer.scope["study_ids"] == shown
    filtered = client_as(world, Role.ICU).get("/board/panel?discipline=icu")
    assert filtered.status_code == 200
    icu = _reads(world, "board")[0]
    assert icu.scope["discipline"] == "icu"
    # those an alert pages the ICU for (none named when none: empty filters are not kept)
    assert icu.scope["patients"] == len(icu.scope.get("study_ids", []))


def test_a_handover_view_is_one_logged_read_naming_the_patients_shown(world: World) -> None:
    sid = world.seeded.acute[-1]
    client_as(world, Role.NURSE).post(
        f"/patients/{sid}/record/vitals", data={"heart_rate": "99", "heart_rate__unit": "/min"}
    )
    before = len(_reads(world, "handover"))
    assert client_as(world, Role.ICU).get("/handover?hours=1").status_code == 200
    views = _reads(world, "handover")
    assert len(views) == before + 1
    view = views[0]
    assert view.role == "icu"
    assert sid in view.scope["study_ids"]
    assert view.scope["hours"] == 1.0
    assert view.scope["changed"] >= 1


def test_an_admin_unlocks_a_locked_out_account_from_the_users_page(world: World) -> None:
    """Five wrong passwords lock the username out; the admin page shows it with an Unlock
    button (admins only, refused from another site), which lifts the lockout through the
    audited `accounts.unlock`, as the API and the CLI do."""
    from sqlalchemy import select

    from neurocart.store.models import AuditEntry

    admin = client_as(world, Role.ADMIN)
    created = admin.post(
        "/admin/users", data={"username": "nurse.locked", "role": "nurse", "password": PASSWORD}
    )
    assert created.status_code == 201
    with world.database.reading() as session:
        target = repo.get_user_by_username(session, "nurse.locked")
    assert target is not None
    url = f"/admin/users/{target.id}/unlock"
    assert f'action="{url}"' not in admin.get("/admin/users").text  # not locked: no button
    guesser = client_as(world, None)
    for _ in range(5):
        guesser.post("/login", data={"username": "nurse.locked", "password": "wrong password"})
    refused = client_as(world, None).post(
        "/login", data={"username": "nurse.locked", "password": PASSWORD}, follow_redirects=False
    )
    assert refused.status_code != 303  # locked out: the right password does not get in
    page = admin.get("/admin/users").text
    assert f'action="{url}"' in page
    assert "locked out" in page
    assert 'aria-label="Unlock nurse.locked"' in page
    assert client_as(world, Role.NURSE).post(url).status_code == 403
    assert admin.post(url, headers={"Origin": "https://evil.example"}).status_code == 403
    done = admin.post(url)
    assert done.status_code == 200
    assert "The lockout of nurse.locked is lifted" in done.text
    assert f'action="{url}"' not in done.text
    again = admin.post(url)
    assert "nurse.locked was not locked out" in again.text
    assert admin.post("/admin/users/999999/unlock").status_code == 404
    login = client_as(world, None).post(
        "/login", data={"username": "nurse.locked", "password": PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303
    with world.database.reading() as session:
        query = select(AuditEntry).where(
            AuditEntry.action == "unlock", AuditEntry.entity_id == target.id
        )
        entries = session.scalars(query.order_by(AuditEntry.seq)).all()
    assert [(e.actor, json.loads(e.new)["was_locked"]) for e in entries] == [
        (USERNAMES[Role.ADMIN], True), (USERNAMES[Role.ADMIN], False),
    ]  # fmt: skip
