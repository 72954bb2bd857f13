"""Property-based fuzzing of the whole API from its OpenAPI schema.

Two runs over one SQLite database seeded with a patient and one record of each kind:

- every check schemathesis has (status codes, content types, response bodies and headers
  against the schema, valid data accepted, invalid data refused, Allow on 405, auth that is
  not ignored), as an admin: the OpenAPI document must tell the truth about every answer;
- no 5xx for any input, clinical routes as a neurologist (who may write most clinical facts,
  so generated bodies reach the services and the store).

Bounded: 20 examples per operation, no Hypothesis deadline (the suite runs on shared cores),
stateful testing off. Two input rules of the API hold for every body and JSON Schema cannot
say them for free-form objects (docs/api-input.md): no NUL character in text and no integer
beyond 64 bits; generation keeps to them, so a refusal of those is not read as a schema lie.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from neurocart.api import create_app
from neurocart.api.routing import MAX_INT
from neurocart.store import Database, repo
from neurocart.store.engine import make_engine
from neurocart.store.models import Base
from tests.api.conftest import T0, add_user, bearer, make_settings

_TMP = tempfile.TemporaryDirectory(prefix="neurocart-fuzz-")
"""Built at import: schemathesis parametrizes from the schema at collection time (its
fixture-based loader does not support this pytest)."""


def _seeded_app() -> tuple[FastAPI, Database]:
    url = f"sqlite:///{Path(_TMP.name) / 'fuzz.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    db = Database.from_url(url)
    neuro = add_user(db, "fuzz-neuro", "neurologist")
    add_user(db, "fuzz-admin", "admin")
    with db.transaction() as session:
        p = repo.create_patient(
            session, None, repo.PatientIn(study_id="P-1", site="HD", sex="male", diagnosis="ms")
        )
        repo.create_course(session, None, repo.CourseIn(patient_id=p.id, product="x"))
        repo.add_observation(session, neuro, repo.ObservationIn(p.id, "8310-5", 37.0, "°C", T0))
        repo.add_event(session, neuro, repo.EventIn(p.id, "relapse", T0))
    return create_app(make_settings(url), db), db


APP, DATABASE = _seeded_app()
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", APP)
    .exclude(path="/api/v1/alerts/stream")  # an endless event stream (tested in test_alerts.py)
    .exclude(path="/api/v1/auth/logout")  # would end the fuzzer's session (test_accounts.py)
)
schema.config.generation.update(allow_x00=False, with_security_parameters=False)
for _operations in schema.raw_schema["paths"].values():
    # No generated `cursor` (FHIR's `_cursor`): a cursor is valid only as a page's `next` link
    # wrote it, which no schema can say; any other string is refused naming it
    # (tests/api/test_pagination.py, tests/interop/test_fhir_paging.py).
    for _operation in _operations.values():
        if isinstance(_operation, dict) and "parameters" in _operation:
            _operation["parameters"] = [
                p for p in _operation["parameters"] if p.get("name") not in ("cursor", "_cursor")
            ]
"""No NUL (see the module docstring); the bearer token is the test's (`HEADERS`), never a
generated one: a case that "leaves out" Authorization would be sent with it all the same
(schemathesis' own `ignored_auth` check still sends requests without it)."""


def _bounded(value: Any) -> bool:
    """No integer beyond 64 bits anywhere in `value` (iteratively: bodies nest)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT:
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


@schema.hook
def filter_body(context: Any, body: Any) -> bool:
    """Generate only bodies within the API's integer bound (see the module docstring)."""
    return _bounded(body)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    DATABASE.dispose()
    _TMP.cleanup()


pytestmark = pytest.mark.slow
"""~2,000 generated requests: 30–60 s."""

HEADERS = {
    "neuro": bearer(DATABASE, "fuzz-neuro", "neurologist"),
    "admin": bearer(DATABASE, "fuzz-admin", "admin"),
}


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_gets_a_server_error(case: schemathesis.Case[Any]) -> None:
    who = "admin" if case.operation.path.startswith("/api/v1/users") else "neuro"
    case.call_and_validate(headers=HEADERS[who], checks=[not_a_server_error])


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_schema_tells_the_truth(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(headers=HEADERS["admin"])
