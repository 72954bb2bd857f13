"""Login, the current user, user management (admin), health."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from neurocart.security import hash_password
from neurocart.store import Database, repo
from tests.api.conftest import Headers


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert client.get("/openapi.json").json()["info"]["title"] == "neurocart API"
    assert client.get("/docs").status_code == 200
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["detail"][0]["field"] == "path"


def test_login_with_argon2_and_me(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        repo.create_user(
            session, None, username="ana", password_hash=hash_password("s3cret-pw"), role="icu"
        )
    wrong = client.post("/api/v1/auth/login", json={"username": "ana", "password": "nope"})
    nobody = client.post("/api/v1/auth/login", json={"username": "bob", "password": "nope"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json()  # no probing for usernames
    ok = client.post("/api/v1/auth/login", json={"username": "ana", "password": "s3cret-pw"})
    assert ok.status_code == 200
    assert ok.json()["role"] == "icu"
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
    )
    assert me.json()["username"] == "ana"
    tampered = ok.json()["access_token"][:-2] + "xx"
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tampered}"}).status_code
        == 401
    )


def test_admin_manages_users(
    client: TestClient, as_role: Callable[[str], Headers], database: Database
) -> None:
    admin = as_role("admin")
    made = client.post(
        "/api/v1/users",
        json={"username": "nina", "password": "long-enough-pw", "role": "nurse"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    with database.reading() as session:
        stored = repo.get_user_by_username(session, "nina")
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$")
    dup = client.post(
        "/api/v1/users",
        json={"username": "nina", "password": "long-enough-pw", "role": "nurse"},
        headers=admin,
    )
    assert dup.status_code == 409
    short = client.post(
        "/api/v1/users", json={"username": "x", "password": "short", "role": "nurse"}, headers=admin
    )
    assert short.json()["detail"][0]["field"] == "password"
    bad_role = client.post(
        "/api/v1/users",
        json={"username": "y", "password": "long-enough-pw", "role": "king"},
        headers=admin,
    )
    assert bad_role.json()["detail"][0]["field"] == "role"
    promoted = client.patch("/api/v1/users/nina", json={"role": "data_manager"}, headers=admin)
    assert promoted.json()["role"] == "data_manager"
    logged = client.post(
        "/api/v1/auth/login", json={"username": "nina", "password": "long-enough-pw"}
    )
    assert logged.json()["role"] == "data_manager"
    assert client.post("/api/v1/users/nina/deactivate", headers=admin).json()["active"] is False
    refused = client.post(
        "/api/v1/auth/login", json={"username": "nina", "password": "long-enough-pw"}
    )
    assert refused.status_code == 401
    assert client.post("/api/v1/users/admin-user/deactivate", headers=admin).status_code == 409
    demote = client.patch("/api/v1/users/admin-user", json={"role": "nurse"}, headers=admin)
    assert demote.status_code == 409
    assert client.patch("/api/v1/users/ghost", json={}, headers=admin).status_code == 404
    names = [u["username"] for u in client.get("/api/v1/users", headers=admin).json()]
    assert names == ["admin-user", "nina"]


def test_every_router_is_included_once(client: TestClient) -> None:
    """Each route is served by one registration: a router included twice shadows its own
    routes and gives the OpenAPI document duplicate operation ids."""
    import warnings

    from neurocart.api import routers

    assert len(set(map(id, routers.ALL))) == len(routers.ALL)
    client.app.openapi_schema = None  # type: ignore[attr-defined]  # built afresh
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.get("/openapi.json")
