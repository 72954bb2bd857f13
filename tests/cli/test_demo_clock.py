"""The demo's clock, published beside its database, is the CLI's now on that record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from neurocart.cli import clock
from neurocart.config import get_settings
from neurocart.demo.build import remove_database
from neurocart.demo.clock import DemoClock, clock_file, published_now

START = datetime(2025, 3, 3, 8, tzinfo=UTC)


@pytest.fixture
def on_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    db = tmp_path / "demo.db"
    db.touch()
    monkeypatch.setenv("NEUROCART_DATABASE_URL", f"sqlite:///{db}")
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_the_cli_counts_on_the_running_demo_clock(on_database: Path) -> None:
    ticks = iter([100.0, 110.0])  # created at 100 s, published at 110 s: 10 real s gone
    demo = DemoClock(START, 60.0, monotonic=lambda: next(ticks))
    demo.publish(on_database)
    now = clock.now()
    assert START + timedelta(minutes=10) - timedelta(seconds=5) <= now  # 10 real s × 60
    assert now < START + timedelta(minutes=11)


def test_a_stopped_demo_freezes_and_no_demo_means_the_real_clock(on_database: Path) -> None:
    demo = DemoClock(START, 60.0, monotonic=iter([0.0, 0.0, 30.0]).__next__)
    demo.publish(on_database)
    demo.stop(on_database)
    assert clock.now() == START + timedelta(minutes=30)
    clock_file(on_database).write_text("{not json")
    assert published_now(on_database) is None
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
    remove_database(on_database)  # a rebuilt demo starts without the old clock
    assert not clock_file(on_database).exists()


def test_a_published_clock_is_plain_json(on_database: Path) -> None:
    path = DemoClock(START, 2.0).publish(on_database)
    record = json.loads(path.read_text())
    assert record["start"] == START.isoformat()
    assert record["speed"] == 2.0
