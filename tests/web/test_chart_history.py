"""A chart over a long history: the page reads only what it draws, a long series keeps its
extremes (a spike is never thinned away), and the correction list holds the newest value of
each code from one query."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from neurocart.security import Role
from neurocart.store import Database, repo
from neurocart.store.models import Base, Observation
from neurocart.web import chart
from tests.web.conftest import World, client_as
from tests.web.seed import USERNAMES

T0 = datetime(2025, 3, 3, 8, tzinfo=UTC)


@dataclass
class Reading:
    """What `extremes` reads of an observation."""

    effective_at: datetime
    value: float
    code: str = "8310-5"


def _series(values: list[float], minutes: float = 1.0) -> list[Observation]:
    return [Reading(T0 + timedelta(minutes=minutes * i), v) for i, v in enumerate(values)]  # type: ignore[misc]


def test_a_short_series_is_drawn_whole() -> None:
    rows = _series([37.0, 37.2, 38.4])
    assert chart.extremes(rows) == rows


def test_a_long_series_keeps_the_spike_the_first_and_the_last_reading() -> None:
    values = [37.0 + (i % 7) * 0.05 for i in range(50_000)]
    values[31_337] = 40.6  # one febrile reading in five weeks of minute-by-minute vitals
    values[12_000] = 34.9  # and one hypothermic
    rows = _series(values)
    kept = chart.extremes(rows)
    assert len(kept) <= chart.MAX_POINTS
    assert kept[0] is rows[0]
    assert kept[-1] is rows[-1]
    assert rows[31_337] in kept
    assert rows[12_000] in kept
    assert [r.effective_at for r in kept] == sorted(r.effective_at for r in kept)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(30, 45, allow_nan=False), min_size=1, max_size=400),
    st.integers(4, 60),
)
def test_extremes_are_a_time_ordered_subset_holding_the_minimum_and_the_maximum(
    values: list[float], limit: int
) -> None:
    rows = _series(values, minutes=7)
    kept = chart.extremes(rows, limit)
    assert len(kept) <= limit
    assert all(any(k is r for r in rows) for k in kept)
    positions = [next(i for i, r in enumerate(rows) if r is k) for k in kept]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    assert min(k.value for k in kept) == min(values)
    assert max(k.value for k in kept) == max(values)


def test_latest_observations_is_the_newest_current_value_of_each_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database.from_url(f"sqlite:///{tmp_path / 'latest.db'}")
    Base.metadata.create_all(db.engine)
    with db.transaction() as s:
        user = repo.create_user(s, None, username="n", password_hash="x", role="nurse")
        p = repo.create_patient(s, None, repo.PatientIn("NC-1", "HD", "female", "mg"))
        other = repo.create_patient(s, None, repo.PatientIn("NC-2", "HD", "female", "mg"))
        for h in range(5):
            at = T0 + timedelta(hours=h)
            repo.add_observation(s, user, repo.ObservationIn(p.id, "8310-5", 37 + h / 10, "°C", at))
            repo.add_observation(s, user, repo.ObservationIn(p.id, "8867-4", 80 + h, "/min", at))
        newest_hr = repo.add_observation(
            s, user, repo.ObservationIn(p.id, "8867-4", 99, "/min", T0 + timedelta(hours=9))
        )
        repo.add_observation(  # another patient's later reading is not this one's
            s, user, repo.ObservationIn(other.id, "8310-5", 39, "°C", T0 + timedelta(hours=20))
        )
    with db.transaction() as s:
        repo.correct_observation(s, user, newest_hr.id, reason="typo", value=98)
    with db.reading() as s:
        latest = repo.latest_observations(s, p.id, limit=16)
        assert [(o.code, o.value) for o in latest] == [("8867-4", 98), ("8310-5", 37.4)]
        assert repo.latest_observations(s, p.id, limit=1)[0].value == 98
    db.dispose()


def test_the_chart_of_a_long_history_draws_extremes_and_says_so(world: World) -> None:
    study_id = world.seeded.acute[1]
    with world.database.transaction() as s:
        patient = repo.find_patient(s, study_id)
        user = repo.get_user_by_username(s, USERNAMES[Role.NURSE])
        assert user is not None
        start = datetime.now(UTC) - timedelta(days=4)
        rows = [
            repo.ObservationIn(
                patient.id, "59408-5", 82.0 if i == 3_000 else 96.0 + (i % 3), "%",
                start + timedelta(minutes=i), source="monitor",
            )
            for i in range(chart.MAX_POINTS + 2_500)
        ]  # fmt: skip
        repo.add_observations(s, user, rows)
    page = client_as(world, Role.NURSE).get(f"/patients/{study_id}").text
    assert 'id="chart-spo2"' in page
    assert re.search(r"SpO₂ \(4,[5-9]\d\d readings: lowest and highest per interval\)", page)
    assert "82.0" in page  # the desaturation is drawn
