"""$everything in pages: `_count`, `self` and `next` links, every resource once, in a stable
order; refusals of a bad `_count` or cursor as a 400 OperationOutcome naming the parameter."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import fhirclient.models.bundle as fc_bundle
import pytest
from fastapi.testclient import TestClient

from neurocart.api import create_app
from neurocart.api.pagination import encode_cursor
from neurocart.config import Settings
from neurocart.interop.fhir import outbound
from neurocart.services.assessments import score
from neurocart.store import Database, Patient, User, repo
from neurocart.store.models import Alert, AlertAction
from tests.api.conftest import Headers

URL = "/fhir/Patient/NC-0007/$everything"
T0 = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
ICE = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 0}


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """The app without the monitor: the alerts here are the ones the test writes."""
    quiet = settings.model_copy(update={"monitoring": False})
    with TestClient(create_app(quiet, database)) as test_client:
        yield test_client


def _alert(patient: Patient, key: str, at: datetime) -> Alert:
    return Alert(
        key=key, study_id="NC-0007", patient_id=patient.id, rule_id="fever", episode="crs",
        severity="high", grade=1.0, status="open", disciplines=["hematology"], tier=1,
        title="fever", text="x", recommended="y", source="s", values={"t": 38.9},
        opened_at=at, updated_at=at,
    )  # fmt: skip


def _observation(patient: Patient, minutes: int, value: float = 37.0) -> repo.ObservationIn:
    at = T0 + timedelta(minutes=minutes)
    return repo.ObservationIn(patient.id, "8310-5", value, "°C", at)


@pytest.fixture
def record(database: Database, patient: Patient, feed_user: User) -> int:
    """A record of every section: observations (three at an instant, one corrected twice,
    one retracted), assessments, events (one of a type with no resource), alerts with
    actions; returns how many resources $everything holds."""
    with database.transaction() as session:
        ids = repo.add_observations(
            session, feed_user, [_observation(patient, i // 3, 37 + i / 10) for i in range(12)]
        )
        fixed = repo.correct_observation(session, feed_user, ids[4], reason="re-read", value=38)
        repo.correct_observation(session, feed_user, fixed.id, reason="again", value=38.5)
        repo.retract_observation(session, feed_user, ids[7], reason="wrong patient")
        for hours in (1, 2):
            item = repo.AssessmentIn(patient.id, "ice", ICE, T0 + timedelta(hours=hours))
            repo.add_assessment(session, feed_user, item, scored=score("ice", ICE))
        events = [
            repo.EventIn(patient.id, "car_t_infusion", T0, details={"product": "CT103A"}),
            repo.EventIn(patient.id, "crs", T0 + timedelta(hours=30), grade=2),
            repo.EventIn(patient.id, "lumbar_puncture", T0 + timedelta(days=2)),
            repo.EventIn(patient.id, "product_shipped", T0 - timedelta(days=3)),  # no resource
        ]
        for event in events:
            repo.add_event(session, feed_user, event)
        for n, key in enumerate(("K-1", "K-2")):
            session.add(_alert(patient, key, T0 + timedelta(hours=30 + n)))
            for kind in ("open", "upgrade", "close"):
                at = T0 + timedelta(hours=31 + n)
                session.add(AlertAction(alert_key=key, kind=kind, at=at, payload={"title": kind}))
    return 2 + 11 + 2 + 3 + 2 * (1 + 3)


def _walk(client: TestClient, headers: Headers, **params: Any) -> list[dict[str, Any]]:
    """Every page of $everything from the first, following `next` as given."""
    pages = [client.get(URL, params=params, headers=headers)]
    while True:
        assert pages[-1].status_code == 200, pages[-1].text
        links = {link["relation"]: link["url"] for link in pages[-1].json().get("link", [])}
        if "next" not in links:
            return [p.json() for p in pages]
        pages.append(client.get(links["next"], headers=headers))


def _keys(pages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["resource"]["resourceType"], e["resource"]["id"]) for p in pages for e in p["entry"]]


@pytest.mark.parametrize("count", [1, 2, 5, 13])
def test_pages_hold_every_resource_once_in_the_record_order(
    client: TestClient, feed: Headers, record: int, count: int
) -> None:
    whole = client.get(URL, params={"_count": 1000}, headers=feed).json()
    assert whole["total"] == record == len(whole["entry"])  # one page: the total is free
    pages = _walk(client, feed, _count=count)
    assert [len(p["entry"]) for p in pages[:-1]] == [count] * (len(pages) - 1)
    assert 1 <= len(pages[-1]["entry"]) <= count
    assert _keys(pages) == _keys([whole])
    assert len(set(_keys(pages))) == record
    for page in pages:
        fc_bundle.Bundle(page)  # the independent parser (absolute next links included)
        assert page["type"] == "searchset"
        assert "total" not in page or len(pages) == 1
    kinds = [kind for kind, _ in _keys(pages)]
    assert kinds[:2] == ["Patient", "Condition"]
    assert kinds.index("Flag") > max(i for i, k in enumerate(kinds) if k == "Observation")
    observations = [e["resource"] for p in pages for e in p["entry"]][2:15]
    assert [o["resourceType"] for o in observations] == ["Observation"] * 13
    times = [o["effectiveDateTime"] for o in observations if not o["id"].startswith("assess")]
    assert len(times) == 11
    assert times == sorted(times)
    corrected = [o for o in observations if o["meta"]["versionId"] == "3"]
    assert len(corrected) == 1  # named by its first row, at its last version


def test_links_say_what_was_run_and_where_the_next_page_is(
    client: TestClient, feed: Headers, record: int
) -> None:
    first = client.get(URL, params={"_count": 4, "_since": "2025-01-01"}, headers=feed).json()
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert set(links) == {"self", "next"}
    self_url = urlsplit(links["self"])
    assert (self_url.scheme, self_url.path) == ("http", URL)
    assert parse_qs(self_url.query) == {"_count": ["4"]}  # _since is not run: not claimed
    query = parse_qs(urlsplit(links["next"]).query)
    assert query["_count"] == ["4"]
    second = client.get(links["next"], headers=feed).json()
    assert {link["relation"]: link["url"] for link in second["link"]}["self"] == links["next"]
    default = client.get(URL, headers=feed).json()
    assert parse_qs(urlsplit(default["link"][0]["url"]).query)["_count"] == [
        str(outbound.DEFAULT_COUNT)
    ]


def test_a_count_beyond_the_maximum_is_lowered_to_it(
    client: TestClient, feed: Headers, record: int
) -> None:
    for asked in (str(outbound.MAX_COUNT + 1), "9" * 5000):
        bundle = client.get(URL, params={"_count": asked}, headers=feed).json()
        self_url = bundle["link"][0]["url"]
        assert parse_qs(urlsplit(self_url).query)["_count"] == [str(outbound.MAX_COUNT)]
        assert len(bundle["entry"]) == record


def test_count_zero_is_the_total_without_entries(
    client: TestClient, feed: Headers, record: int
) -> None:
    bundle = client.get(URL, params={"_count": "0"}, headers=feed).json()
    assert bundle["total"] == record
    assert bundle["entry"] == []
    assert [link["relation"] for link in bundle["link"]] == ["self"]


def test_a_page_walk_is_not_shifted_by_facts_recorded_meanwhile(
    client: TestClient, feed: Headers, record: int, database: Database, patient: Patient,
    feed_user: User,
) -> None:  # fmt: skip
    before = _keys(_walk(client, feed, _count=record))
    first = client.get(URL, params={"_count": 6}, headers=feed).json()  # 2 + 4 observations
    seen = _keys([first])
    with database.transaction() as session:  # one before the page boundary, one after it
        early, late = repo.add_observations(
            session, feed_user, [_observation(patient, -60), _observation(patient, 600)]
        )
        repo.add_event(session, feed_user, repo.EventIn(patient.id, "ecg", T0 + timedelta(1)))
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    rest = _walk_from(client, feed, next_url)
    walked = seen + _keys(rest)
    assert len(walked) == len(set(walked))  # nothing twice
    assert ("Observation", str(early)) not in walked  # behind the cursor: not shifted in
    assert ("Observation", str(late)) in walked  # ahead of it: read in its place
    assert [k for k in walked if k in before] == before  # everything else once, in order
    assert len(walked) == len(before) + 2


def _walk_from(client: TestClient, headers: Headers, url: str) -> list[dict[str, Any]]:
    pages = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = next((x["url"] for x in pages[-1]["link"] if x["relation"] == "next"), "")
    return pages


def _tampered(cursor: str) -> str:
    values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    values[2] = ["s", "2025-06-01"]  # a date where a number belongs
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


def test_a_bad_count_or_cursor_is_a_400_naming_it(
    client: TestClient, feed: Headers, record: int, database: Database, patient: Patient
) -> None:
    def refused(params: Any, parameter: str) -> None:
        r = client.get(URL, params=params, headers=feed)
        assert r.status_code == 400, (params, r.text)
        assert r.headers["content-type"].startswith("application/fhir+json")
        body = r.json()
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["expression"] == [parameter]

    for count in ("-1", "ten", "1.5", "", "1e3", "٣", [("_count", "2"), ("_count", "3")]):
        refused([("_count", c) for c in [count]] if isinstance(count, str) else count, "_count")
    first = client.get(URL, params={"_count": 3}, headers=feed).json()
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    cursor = parse_qs(urlsplit(next_url).query)["_cursor"][0]
    with database.transaction() as session:
        other = repo.create_patient(
            session,
            None,
            repo.PatientIn(study_id="NC-0008", site="SITE_A", sex="male", diagnosis="mg"),
        )
    foreign = encode_cursor(("observation", other.id, T0, 1))  # another patient's record
    mine = patient.id
    beyond = datetime.fromisoformat("9999-12-31T23:00:00-05:00")  # not an instant in UTC
    for bad in (cursor[:-2], cursor + "x", "!!", "x" * 600, _tampered(cursor), foreign,
                encode_cursor(("lab", mine, 2)), encode_cursor((1, 2)),
                encode_cursor(("event", mine, beyond, 1))):  # fmt: skip
        refused({"_cursor": bad}, "_cursor")
    assert client.get(URL, params={"_cursor": cursor}, headers=feed).status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # backend-independent
def test_the_bulk_export_writes_what_the_pages_hold(
    client: TestClient, feed: Headers, record: int, database: Database, tmp_path: Any
) -> None:
    pages = _walk(client, feed, _count=3)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in (e["resource"] for p in pages for e in p["entry"]):
        by_type.setdefault(resource["resourceType"], []).append(resource)
    for chunk in (1, 4, outbound.CHUNK):  # the export's reads in chunks change nothing
        out = tmp_path / str(chunk)
        with database.reading() as session:
            counts = outbound.export_ndjson(session, out, chunk=chunk)
        assert counts == {kind: len(rs) for kind, rs in by_type.items()}
        for kind, resources in by_type.items():
            lines = (out / f"{kind}.ndjson").read_text(encoding="utf-8").splitlines()
            assert [json.loads(line) for line in lines] == resources
