"""The permission matrix, route by route: every route × every role, allowed and denied.

Cases are generated from the app's routes and `neurocart.security`'s matrix, so a new route
that declares no permission fails `test_every_route_declares_its_permission`, and a change to
the matrix changes what is tested here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from neurocart.api import create_app
from neurocart.api.deps import current_user, public, require
from neurocart.security import Role, allowed_roles
from neurocart.services import assessments
from neurocart.store import Database, records, repo
from neurocart.store.models import MriScan, NerveConductionStudy
from tests.api.conftest import T0, add_user, bearer, make_settings

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def _declaration(route: APIRoute) -> require | str | None:
    """What the route requires: a `require`, any authenticated user, public, or nothing."""
    calls = []
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        calls.append(dependant.call)
        stack.extend(dependant.dependencies)
    requirements = [c for c in calls if isinstance(c, require)]
    if len(requirements) == 1:
        return requirements[0]
    if requirements:
        return None  # ambiguous: two permissions on one route
    if current_user in calls:
        return AUTHENTICATED
    if public in calls:
        return PUBLIC
    return None


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """The REST routes (/api/...); the web pages' cookie-session guard is tested in tests/web."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and str(context.path).startswith("/api/"):
            for method in sorted(route.methods or ()):
                yield method, str(context.path), route


APP = create_app(make_settings("sqlite://"), Database.from_url("sqlite://"))
ROUTES = list(api_routes(APP))


def test_every_route_declares_its_permission() -> None:
    undeclared = [f"{m} {p}" for m, p, r in ROUTES if _declaration(r) is None]
    assert not undeclared, f"routes without exactly one permission declaration: {undeclared}"
    assert len(ROUTES) >= 30


def test_only_health_and_login_are_public() -> None:
    public_routes = {p for _, p, r in ROUTES if _declaration(r) == PUBLIC}
    assert public_routes == {"/api/v1/health", "/api/v1/auth/login"}


ADMIN_ONLY = {
    ("POST", "/api/v1/users/{username}/deactivate"),
    ("POST", "/api/v1/users/{username}/sessions/revoke"),
    ("POST", "/api/v1/users/{username}/unlock"),
}
"""The acts on another person's account: only an administrator (the matrix below then calls
each as every role, on the `target` user)."""


def test_the_account_acts_are_for_administrators_only() -> None:
    declared = {(m, p): _declaration(r) for m, p, r in ROUTES}
    for act in ADMIN_ONLY:
        requirement = declared[act]
        assert isinstance(requirement, require), act
        assert allowed_roles(requirement.resource, requirement.action) == {Role.ADMIN}, act


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """One app with a user per role and one of each record for path parameters."""
    url = f"sqlite:///{tmp_path_factory.mktemp('perm') / 'perm.db'}"
    from neurocart.store.engine import make_engine
    from neurocart.store.models import Base

    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    db = Database.from_url(url)
    users = {role: add_user(db, f"{role.value}-user", role) for role in Role}
    target = add_user(db, "target", Role.NURSE)
    with db.transaction() as session:
        neuro = users[Role.NEUROLOGIST]
        p = repo.create_patient(
            session, None, repo.PatientIn(study_id="P-1", site="HD", sex="male", diagnosis="ms")
        )
        course = repo.create_course(session, None, repo.CourseIn(patient_id=p.id, product="x"))
        o = repo.add_observation(session, neuro, repo.ObservationIn(p.id, "8310-5", 37.0, "°C", T0))
        a = assessments.add_assessment(
            session, neuro, repo.AssessmentIn(p.id, "crs", {"temperature_c": 37.0}, T0)
        )
        e = repo.add_event(session, neuro, repo.EventIn(p.id, "relapse", T0))
        mri = {"patient_id": p.id, "scan_date": T0.date(), "region": "brain"}
        scan = records.add(session, neuro, MriScan, mri | {"contrast_given": False})
        nerves = [{"nerve": "median", "side": "right"}]
        ncs_values = {"patient_id": p.id, "study_date": T0.date(), "nerves": nerves}
        ncs = records.add(session, neuro, NerveConductionStudy, ncs_values | {"sensory_nerves": []})
    params = {
        "study_id": "P-1",
        "course_id": course.id,
        "observation_id": o.id,
        "assessment_id": a.id,
        "event_id": e.id,
        "username": target.username,
        "name": "crs",
        "key": "P-1:crs:1",
        "scan_id": scan.id,
        "study_row_id": ncs.id,
    }
    headers = {role: bearer(db, user) for role, user in users.items()}
    with TestClient(create_app(make_settings(url), db)) as client:
        yield client, {"params": params, "headers": headers, "db": db, "users": users}
    db.dispose()


def _call(client: TestClient, method: str, path: str, params: dict[str, Any], headers: Any) -> int:
    url = re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), path)
    if path.endswith("/stream"):  # a server-sent-events stream: let it end at once
        url += "?seconds=0.01"
    body: dict[str, object] | None = {} if method in {"POST", "PUT", "PATCH"} else None
    status: int = client.request(method, url, json=body, headers=headers).status_code
    return status


CASES = [
    pytest.param(method, path, role, id=f"{method} {path} as {role.value}")
    for method, path, route in ROUTES
    for role in Role
]


@pytest.mark.parametrize(("method", "path", "role"), CASES)
def test_route_allows_exactly_the_matrix_roles(
    world: tuple[TestClient, dict[str, Any]], method: str, path: str, role: Role
) -> None:
    client, data = world
    route = next(r for m, p, r in ROUTES if (m, p) == (method, path))
    declared = _declaration(route)
    headers = data["headers"][role]
    if path.endswith("/auth/logout"):  # ends the session it is called with: use a fresh one
        headers = bearer(data["db"], data["users"][role])
    status = _call(client, method, path, data["params"], headers)
    assert status < 500
    if isinstance(declared, require) and role not in allowed_roles(
        declared.resource, declared.action
    ):
        assert status == 403, f"{role} should be denied {declared}"
    else:
        assert status not in (401, 403), f"{role} should be allowed ({declared}), got {status}"


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in ROUTES])
def test_unauthenticated_gets_401_except_public(
    world: tuple[TestClient, dict[str, Any]], method: str, path: str
) -> None:
    client, data = world
    route = next(r for m, p, r in ROUTES if (m, p) == (method, path))
    status = _call(client, method, path, data["params"], {})
    if _declaration(route) == PUBLIC:
        assert status not in (401, 403)
    else:
        assert status == 401
        bad = _call(client, method, path, data["params"], {"Authorization": "Bearer nc1.x.y"})
        assert bad == 401


def test_deactivated_user_and_demoted_role_take_effect_at_once(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, data = world
    admin = data["headers"][Role.ADMIN]
    # a token claiming admin for a user stored as nurse is judged by the stored role
    forged_role = bearer(data["db"], "target", Role.ADMIN)
    reactivate = client.patch("/api/v1/users/target", json={"active": True}, headers=admin)
    assert reactivate.status_code == 200  # the matrix run may have deactivated it
    assert client.get("/api/v1/users", headers=forged_role).status_code == 403
    assert client.get("/api/v1/auth/me", headers=forged_role).json()["role"] == "nurse"
    assert client.post("/api/v1/users/target/deactivate", headers=admin).status_code == 200
    assert client.get("/api/v1/auth/me", headers=forged_role).status_code == 401
