"""The alert read interface over an in-process monitor engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neurocart import monitor
from neurocart.store.models import Role, User
from neurocart.web.alerts import EngineAlerts, NoAlerts, UnknownAlertError, by_discipline

DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
USER = User(id=1, username="dr.neuro", role=Role.NEUROLOGIST, active=True)


def _fever() -> EngineAlerts:
    engine = monitor.Engine()
    engine.set_context(monitor.PatientContext("NC-0001", infusion_at=DAY0))
    provider = EngineAlerts(engine)
    with provider.lock:
        engine.ingest(monitor.Observation("NC-0001", "8310-5", 39.1, DAY0 + timedelta(days=2)))
    provider.touch()
    return provider


def test_an_engine_alert_is_shown_with_its_day_disciplines_and_recommendation() -> None:
    provider = _fever()
    (view,) = provider.open_alerts(None)  # type: ignore[arg-type]
    assert view.study_id == "NC-0001"
    assert view.study_day == 2
    assert view.severity in {"warning", "urgent", "critical"}
    assert view.disciplines
    assert view.recommended
    assert "39.1" in view.findings
    assert not view.findings.startswith("NC-0001")
    assert view.acknowledged_at is None
    assert set(by_discipline([view])) == set(view.disciplines)


def test_acknowledging_records_who_and_when_and_changes_the_version() -> None:
    provider = _fever()
    (view,) = provider.open_alerts(None)  # type: ignore[arg-type]
    version = provider.version()
    at = DAY0 + timedelta(days=2, hours=1)
    acked = provider.acknowledge(None, USER, view.id, at)  # type: ignore[arg-type]
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("dr.neuro", at)
    assert provider.version() != version
    assert provider.engine.alert(view.id).acknowledged_by == "dr.neuro"


def test_an_unknown_alert_cannot_be_acknowledged() -> None:
    with pytest.raises(UnknownAlertError):
        _fever().acknowledge(None, USER, "nope", DAY0)  # type: ignore[arg-type]
    with pytest.raises(UnknownAlertError):
        NoAlerts().acknowledge(None, USER, "nope", DAY0)  # type: ignore[arg-type]
    assert NoAlerts().open_alerts(None) == []  # type: ignore[arg-type]
