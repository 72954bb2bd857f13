"""Accounts: login throttle and lockout, sessions (logout, idle timeout, revocation), the token
key refusal, password length, electronic signatures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from neurocart.api import create_app
from neurocart.cli import app as cli
from neurocart.config import Settings
from neurocart.services import accounts
from neurocart.store import AuditEntry, Database, Patient
from neurocart.store.models import Alert, Signature
from neurocart.web.auth import COOKIE
from tests.api.conftest import (
    SIGNING_PASSWORD,
    T0,
    Headers,
    add_user,
    make_settings,
    obs,
    signature,
)
from tests.dbfixtures import database_url_env

LOGIN = "/api/v1/auth/login"
AT = T0.isoformat()
ME = "/api/v1/auth/me"


class Clock:
    """A settable clock for the sessions (``app.state.auth_clock``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    c = Clock(datetime.now(UTC))
    app.state.auth_clock = c
    return c


def _tune(app: FastAPI, **settings: Any) -> None:
    app.state.settings = app.state.settings.model_copy(update=settings)


def _login(client: TestClient, username: str, password: str = SIGNING_PASSWORD) -> Any:
    return client.post(LOGIN, json={"username": username, "password": password})


def _headers(response: Any) -> Headers:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _account_actions(database: Database) -> list[str]:
    with database.reading() as s:
        query = select(AuditEntry.action).where(AuditEntry.entity_type == "account")
        return list(s.scalars(query.order_by(AuditEntry.seq)))


# --- throttle and lockout -----------------------------------------------------------------


def test_lockout_after_n_failures_answers_429_with_retry_after_and_is_audited(
    client: TestClient, app: FastAPI, database: Database, clock: Clock
) -> None:
    _tune(app, login_max_failures=3, login_window_seconds=600)
    add_user(database, "ana", "icu")
    for _ in range(3):
        assert _login(client, "ana", "wrong").status_code == 401
    locked = _login(client, "ana")  # the right password, too late
    assert locked.status_code == 429
    assert locked.json()["detail"][0]["field"] == "username"
    assert 590 <= int(locked.headers["Retry-After"]) <= 600
    assert _account_actions(database) == ["login_failed"] * 3 + ["lockout"]
    clock.advance(seconds=601)
    assert _login(client, "ana").status_code == 200
    assert _account_actions(database)[-1] == "login"


def test_lockout_is_in_the_database_so_a_second_server_process_enforces_it(
    client: TestClient, app: FastAPI, database: Database, settings: Settings
) -> None:
    add_user(database, "ana", "icu")
    tuned = settings.model_copy(update={"login_max_failures": 2})
    _tune(app, login_max_failures=2)
    with TestClient(create_app(tuned, database)) as other:
        assert _login(client, "ana", "wrong").status_code == 401
        assert _login(other, "ana", "wrong").status_code == 401
        assert _login(other, "ana").status_code == 429
        assert _login(client, "ana").status_code == 429


def test_failures_are_throttled_per_client_address(
    client: TestClient, app: FastAPI, database: Database
) -> None:
    _tune(app, login_max_failures=50, login_max_failures_per_address=4)
    add_user(database, "ana", "icu")
    for i in range(4):  # a password spray: another username each time
        assert _login(client, f"user{i}", "guess").status_code == 401
    sprayed = _login(client, "ana")
    assert sprayed.status_code == 429
    assert "this address" in sprayed.json()["detail"][0]["message"]
    with TestClient(app, client=("10.0.0.9", 50000)) as elsewhere:
        assert _login(elsewhere, "ana").status_code == 200


def test_the_web_login_page_says_the_account_is_locked(
    client: TestClient, app: FastAPI, database: Database
) -> None:
    _tune(app, login_max_failures=2)
    add_user(database, "ana", "icu")
    for _ in range(2):
        assert client.post("/login", data={"username": "ana", "password": "x"}).status_code == 401
    page = client.post("/login", data={"username": "ana", "password": SIGNING_PASSWORD})
    assert page.status_code == 429
    assert "Too many failed logins" in page.text
    assert int(page.headers["Retry-After"]) > 0


# --- sessions -----------------------------------------------------------------------------


def test_logout_ends_the_token_and_a_replay_gets_401(
    client: TestClient, database: Database
) -> None:
    add_user(database, "ana", "icu")
    headers = _headers(_login(client, "ana"))
    assert client.get(ME, headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    replay = client.get(ME, headers=headers)
    assert replay.status_code == 401
    assert "ended (logout)" in replay.json()["detail"][0]["message"]
    assert "logout" in _account_actions(database)
    assert client.get(ME, headers=_headers(_login(client, "ana"))).status_code == 200


def test_web_logout_ends_the_cookie_and_a_replayed_cookie_opens_nothing(
    client: TestClient, database: Database
) -> None:
    add_user(database, "ana", "icu")
    login = client.post(
        "/login", data={"username": "ana", "password": SIGNING_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303
    cookie = client.cookies[COOKIE]
    assert client.get("/board", follow_redirects=False).status_code == 200
    client.post("/logout", follow_redirects=False)
    client.cookies.set(COOKIE, cookie)  # the copied cookie, replayed
    replay = client.get("/board", follow_redirects=False)
    assert replay.status_code in (302, 303, 307)
    assert "/login" in replay.headers["location"]


def test_idle_timeout_and_absolute_lifetime(
    client: TestClient, app: FastAPI, database: Database, clock: Clock
) -> None:
    _tune(app, session_idle_minutes=30, token_ttl_minutes=120)
    add_user(database, "ana", "icu")
    headers = _headers(_login(client, "ana"))
    for _ in range(3):  # in use every 25 min: kept alive
        clock.advance(minutes=25)
        assert client.get(ME, headers=headers).status_code == 200
    clock.advance(minutes=31)
    idle = client.get(ME, headers=headers)
    assert idle.status_code == 401
    assert "idle" in idle.json()["detail"][0]["message"]

    fresh = _headers(_login(client, "ana"))
    for _ in range(4):  # always active, but 2 h after the login it ends
        clock.advance(minutes=25)
        assert client.get(ME, headers=fresh).status_code == 200
    clock.advance(minutes=25)
    assert client.get(ME, headers=fresh).status_code == 401


def test_an_admin_revokes_a_users_sessions_and_deactivation_ends_them(
    client: TestClient, as_role: Callable[[str], Headers], database: Database
) -> None:
    admin = as_role("admin")
    add_user(database, "ana", "icu")
    first, second = _headers(_login(client, "ana")), _headers(_login(client, "ana"))
    revoked = client.post("/api/v1/users/ana/sessions/revoke", headers=admin)
    assert revoked.json() == {"username": "ana", "ended": 2}
    assert client.get(ME, headers=first).status_code == 401
    assert client.get(ME, headers=second).status_code == 401
    assert (
        client.post("/api/v1/users/ana/sessions/revoke", headers=as_role("icu")).status_code == 403
    )

    third = _headers(_login(client, "ana"))
    assert client.post("/api/v1/users/ana/deactivate", headers=admin).status_code == 200
    assert (
        client.patch("/api/v1/users/ana", json={"active": True}, headers=admin).status_code == 200
    )
    assert client.get(ME, headers=third).status_code == 401  # reactivation revives nothing
    assert client.get(ME, headers=_headers(_login(client, "ana"))).status_code == 200


def test_a_token_without_a_session_is_refused(client: TestClient, database: Database) -> None:
    from neurocart.security import issue_token
    from tests.api.conftest import SECRET

    add_user(database, "ana", "icu")
    sessionless = {"Authorization": f"Bearer {issue_token('ana', 'icu', secret=SECRET)}"}
    refused = client.get(ME, headers=sessionless)
    assert refused.status_code == 401
    assert "names no session" in refused.json()["detail"][0]["message"]


def test_cli_user_revoke_ends_the_sessions(client: TestClient, database: Database) -> None:
    add_user(database, "ana", "icu")
    headers = _headers(_login(client, "ana"))
    with database_url_env(database.engine.url):
        result = CliRunner().invoke(cli, ["user", "revoke", "ana"])
        missing = CliRunner().invoke(cli, ["user", "revoke", "nobody"])
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    assert missing.exit_code == 2
    assert client.get(ME, headers=headers).status_code == 401


def _lock_out(client: TestClient, app: FastAPI, username: str, failures: int = 3) -> None:
    _tune(app, login_max_failures=failures, login_window_seconds=900)
    for _ in range(failures):
        assert _login(client, username, "wrong").status_code == 401
    assert _login(client, username).status_code == 429  # the right password, locked out


def test_an_admin_unlocks_a_locked_out_account_and_it_is_audited(
    client: TestClient, app: FastAPI, as_role: Callable[[str], Headers], database: Database
) -> None:
    add_user(database, "ana", "icu")
    _lock_out(client, app, "ana")
    unlocked = client.post("/api/v1/users/ana/unlock", headers=as_role("admin"))
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"username": "ana", "was_locked": True, "cleared": 3}
    assert _login(client, "ana").status_code == 200  # at once, not after the window
    with database.reading() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "unlock"))
    assert entry is not None
    assert entry.actor == "admin-user"
    assert entry.new_values == {"username": "ana", "was_locked": True, "failures": 3}
    assert _account_actions(database).count("login_failed") == 3  # the failures stay on record
    again = client.post("/api/v1/users/ana/unlock", headers=as_role("admin"))
    assert again.json() == {"username": "ana", "was_locked": False, "cleared": 0}


def test_unlock_is_refused_to_other_roles_and_names_an_unknown_user(
    client: TestClient, app: FastAPI, as_role: Callable[[str], Headers], database: Database
) -> None:
    add_user(database, "ana", "icu")
    _lock_out(client, app, "ana")
    for role in ("icu", "investigator", "data_manager"):
        refused = client.post("/api/v1/users/ana/unlock", headers=as_role(role))
        assert refused.status_code == 403, role
    assert _login(client, "ana").status_code == 429  # still locked
    unknown = client.post("/api/v1/users/nobody/unlock", headers=as_role("admin"))
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["field"] == "username"


def test_cli_user_unlock_lifts_the_lockout(
    client: TestClient, app: FastAPI, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(database, "ana", "icu")
    _lock_out(client, app, "ana")
    monkeypatch.setenv("NEUROCART_LOGIN_MAX_FAILURES", "3")  # the server's setting
    with database_url_env(database.engine.url):
        result = CliRunner().invoke(cli, ["user", "unlock", "ana"])
        missing = CliRunner().invoke(cli, ["user", "unlock", "nobody"])
    assert result.exit_code == 0, result.output
    assert "was locked out; 3 failed login(s) cleared" in result.output
    assert missing.exit_code == 2
    assert "name: no user 'nobody'" in missing.output
    assert _login(client, "ana").status_code == 200
    with database.reading() as s:
        actor = s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "unlock"))
    assert actor is not None
    assert actor.startswith("cli:")


# --- key and passwords --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "why"),
    [("change-me-in-production", "published default"), ("short-key", "shorter than 32 bytes")],
)
def test_serve_refuses_the_default_or_a_short_key(
    key: str, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neurocart.config import get_settings

    monkeypatch.setenv("NEUROCART_SECRET_KEY", key)
    monkeypatch.setenv("NEUROCART_DATABASE_URL", "sqlite://")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert why in " ".join(result.output.split())
    assert "NEUROCART_DEMO_MODE" in result.output


def test_the_key_check_itself() -> None:
    assert accounts.secret_key_problem(Settings(secret_key="k" * 32)) is None
    assert accounts.secret_key_problem(Settings(secret_key="k" * 31)) is not None
    assert accounts.secret_key_problem(Settings(secret_key="é" * 16)) is None  # 32 bytes


def test_passwords_have_a_minimum_length_on_create_and_change(
    client: TestClient, as_role: Callable[[str], Headers], app: FastAPI, database: Database
) -> None:
    admin = as_role("admin")
    user = {"username": "nina", "role": "nurse"}
    short = client.post("/api/v1/users", json=user | {"password": "elevenchars"}, headers=admin)
    assert short.status_code == 422
    assert short.json()["detail"][0] == {
        "field": "password", "message": "must be at least 12 characters", "got": None
    }  # fmt: skip
    assert (
        client.post("/api/v1/users", json=user | {"password": "x" * 12}, headers=admin).status_code
        == 201
    )
    change = client.patch("/api/v1/users/nina", json={"password": "short"}, headers=admin)
    assert change.status_code == 422
    assert change.json()["detail"][0]["field"] == "password"
    _tune(app, password_min_length=20)
    longer = client.patch("/api/v1/users/nina", json={"password": "y" * 19}, headers=admin)
    assert "at least 20" in longer.json()["detail"][0]["message"]


def test_cli_user_add_refuses_a_short_password(database: Database) -> None:
    with database_url_env(database.engine.url):
        short = CliRunner().invoke(
            cli, ["user", "add", "bo", "--role", "nurse", "--password-stdin"], input="short\n"
        )
    assert short.exit_code == 2
    assert "at least 12 characters" in short.output


# --- electronic signatures ----------------------------------------------------------------


def _signatures(database: Database, entity_type: str) -> list[Signature]:
    with database.reading() as s:
        query = select(Signature).where(Signature.entity_type == entity_type)
        return list(s.scalars(query.order_by(Signature.id)))


def test_a_correction_is_signed_missing_wrong_ok(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database: Database
) -> None:
    nurse = as_role("nurse")
    first = client.post("/api/v1/patients/P-001/observations", json=obs(37.0), headers=nurse)
    url = f"/api/v1/observations/{first.json()['id']}/correction"
    body = {"reason": "typo", "value": 37.4}
    missing = client.post(url, json=body, headers=nurse)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "signature"
    wrong = client.post(url, json=body | {"signature": signature(password="guess")}, headers=nurse)
    assert wrong.status_code == 403
    assert wrong.json()["detail"][0]["field"] == "signature.password"
    meaningless = client.post(url, json=body | {"signature": signature("sure")}, headers=nurse)
    assert meaningless.status_code == 422
    assert meaningless.json()["detail"][0]["field"] == "signature.meaning"
    assert _signatures(database, "observation") == []  # nothing written by the refusals
    ok = client.post(url, json=body | {"signature": signature("corrected")}, headers=nurse)
    assert ok.status_code == 201, ok.text
    (signed,) = _signatures(database, "observation")
    assert (signed.signer, signed.meaning, signed.action, signed.entity_id) == (
        "nurse-user", "corrected", "correct", ok.json()["id"]
    )  # fmt: skip
    with database.reading() as s:
        audited = s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "signature")).one()
    assert audited.actor == "nurse-user"
    assert audited.new_values is not None
    assert audited.new_values["meaning"] == "corrected"
    retract = f"/api/v1/observations/{ok.json()['id']}/retraction"
    assert client.post(retract, json={"reason": "wrong patient"}, headers=nurse).status_code == 422
    gone = client.post(
        retract, json={"reason": "wrong patient", "signature": signature("approved")}, headers=nurse
    )
    assert gone.status_code == 201
    assert [s.action for s in _signatures(database, "observation")] == ["correct", "retract"]


def _critical_alert(database: Database, patient: Patient, *, severity: str, grade: float) -> str:
    key = f"{patient.study_id}:crs:{severity}"
    with database.transaction() as s:
        s.add(
            Alert(
                key=key,
                study_id=patient.study_id,
                patient_id=patient.id,
                rule_id="crs",
                episode="crs",
                severity=severity,
                grade=grade,
                status="open",
                disciplines=["hematology"],
                tier=0,
                title="CRS",
                text="CRS",
                recommended="",
                source="",
                values={},
                opened_at=T0,
                updated_at=T0,
            )
        )
    return key


def test_acknowledging_a_critical_alert_is_signed(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database: Database
) -> None:
    doctor = as_role("hematologist")
    key = _critical_alert(database, patient, severity="urgent", grade=3)
    url = f"/api/v1/alerts/{key}/acknowledge"
    missing = client.post(url, headers=doctor)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "signature"
    wrong = client.post(url, json={"signature": signature("reviewed", "nope")}, headers=doctor)
    assert wrong.status_code == 403
    assert wrong.json()["detail"][0]["field"] == "signature.password"
    assert client.get(f"/api/v1/alerts/{key}", headers=doctor).json()["acknowledged_by"] is None
    ok = client.post(url, json={"signature": signature("reviewed")}, headers=doctor)
    assert ok.status_code == 200, ok.text
    assert ok.json()["acknowledged_by"] == "hematologist-user"
    (signed,) = _signatures(database, "alert")
    assert (signed.meaning, signed.action, signed.signer) == (
        "reviewed", "acknowledge", "hematologist-user"
    )  # fmt: skip
    minor = _critical_alert(database, patient, severity="warning", grade=1)
    assert client.post(f"/api/v1/alerts/{minor}/acknowledge", headers=doctor).status_code == 200


def test_the_web_acknowledge_form_asks_for_the_password_of_a_critical_alert(
    client: TestClient, patient: Patient, database: Database
) -> None:
    add_user(database, "haem", "hematologist")
    key = _critical_alert(database, patient, severity="critical", grade=3)
    client.post("/login", data={"username": "haem", "password": SIGNING_PASSWORD})
    board = client.get("/board").text
    assert f'id="pw-{key}"' in board
    assert "Sign and acknowledge" in board
    refused = client.post("/alerts/ack", data={"alert_id": key}, headers={"HX-Request": "true"})
    assert "enter your password" in refused.text
    client.post("/alerts/ack", data={"alert_id": key, "password": SIGNING_PASSWORD})
    (signed,) = _signatures(database, "alert")
    assert (signed.signer, signed.meaning) == ("haem", "reviewed")


def test_signing_an_assessment(
    client: TestClient, as_role: Callable[[str], Headers], patient: Patient, database: Database
) -> None:
    neuro = as_role("neurologist")
    made = client.post(
        "/api/v1/patients/P-001/assessments",
        json={
            "instrument": "crs",
            "inputs": {"temperature_c": 38.4},
            "effective_at": T0.isoformat(),
        },
        headers=neuro,
    )
    url = f"/api/v1/assessments/{made.json()['id']}/signature"
    assert client.post(url, json={}, headers=neuro).json()["detail"][0]["field"] == "signature"
    signed = client.post(url, json={"signature": signature("approved")}, headers=neuro)
    assert signed.status_code == 201, signed.text
    assert signed.json()["meaning"] == "approved"
    assert signed.json()["signer"] == "neurologist-user"
    listed = client.get(f"/api/v1/assessments/{made.json()['id']}/signatures", headers=neuro)
    assert [s["meaning"] for s in listed.json()] == ["approved"]
    nurse = client.post(url, json={"signature": signature("approved")}, headers=as_role("nurse"))
    assert nurse.status_code == 403  # a CRS grade is not a nurse's to sign


def test_make_settings_keeps_defaults() -> None:
    settings = make_settings("sqlite://")
    assert settings.password_min_length == 12
    assert settings.login_max_failures == 5
    assert settings.session_idle_minutes == 30


def test_sessions_are_checked_before_a_routes_write_transaction_opens() -> None:
    """The session check may write the last use in its own transaction: on SQLite (one writer)
    it must run before the route's write transaction, or the request would wait on itself."""
    from fastapi.routing import APIRoute

    from neurocart.api import routers
    from neurocart.api.deps import current_user, write_session

    def calls(dependant: Any) -> list[Any]:
        found = []
        for sub in dependant.dependencies:
            found += [*calls(sub), sub.call]
        return found

    checked = 0
    for router in routers.ALL:
        for route in router.routes:
            if isinstance(route, APIRoute):
                order = calls(route.dependant)
                if write_session in order and current_user in order:
                    checked += 1
                    assert order.index(current_user) < order.index(write_session), route.path
    assert checked >= 20


def test_wrong_signature_passwords_count_as_failed_logins(
    client: TestClient,
    app: FastAPI,
    as_role: Callable[[str], Headers],
    patient: Patient,
    database: Database,
) -> None:
    _tune(app, login_max_failures=2)
    nurse = as_role("nurse")
    first = client.post("/api/v1/patients/P-001/observations", json=obs(37.0), headers=nurse)
    url = f"/api/v1/observations/{first.json()['id']}/correction"
    guess = {"reason": "typo", "value": 37.2, "signature": signature(password="guess")}
    assert client.post(url, json=guess, headers=nurse).status_code == 403
    assert client.get(ME, headers=nurse).status_code == 200
    assert client.post(url, json=guess, headers=nurse).status_code == 403  # the lockout
    assert client.get(ME, headers=nurse).status_code == 401  # its sessions ended
    assert _login(client, "nurse-user").status_code == 429
    assert _account_actions(database)[-4:] == [
        "signature_failed", "signature_failed", "lockout", "revoke_sessions"
    ]  # fmt: skip
