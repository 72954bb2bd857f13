"""Property-based fuzzing of the whole API from its OpenAPI schema: no input gets a 5xx.

Bounded: 20 examples per operation, no Hypothesis deadline (the suite runs on shared cores),
one SQLite database seeded with a patient and one record of each kind so that many
generated requests reach the store. Clinical routes run as a neurologist (who may write most
clinical facts), user routes as an admin; only `not_a_server_error` is checked.
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


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    DATABASE.dispose()
    _TMP.cleanup()


pytestmark = pytest.mark.slow
"""~700 generated requests: 10–30 s."""

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
