"""The pages' alert provider interface: the default shows nothing; views of stored alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neurocart import monitor
from neurocart.services.alerts import alert_view
from neurocart.store.models import Role, User
from neurocart.web.alerts import NoAlerts, UnknownAlertError, by_discipline

DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
USER = User(id=1, username="dr.neuro", role=Role.NEUROLOGIST, active=True)


def test_an_alert_is_shown_with_its_day_disciplines_and_recommendation() -> None:
    engine = monitor.Engine()
    engine.set_context(monitor.PatientContext("NC-0001", infusion_at=DAY0))
    engine.ingest(monitor.Observation("NC-0001", "8310-5", 39.1, DAY0 + timedelta(days=2)))
    (alert,) = engine.alerts()
    view = alert_view(alert)
    assert view.study_id == "NC-0001"
    assert view.study_day == 2
    assert view.severity in {"warning", "urgent", "critical"}
    assert view.disciplines
    assert view.recommended
    assert "39.1" in view.findings
    assert not view.findings.startswith("NC-0001")
    assert view.acknowledged_at is None
    assert set(by_discipline([view])) == set(view.disciplines)


def test_without_a_provider_nothing_is_shown_or_acknowledged() -> None:
    with pytest.raises(UnknownAlertError):
        NoAlerts().acknowledge(None, USER, "nope", DAY0)  # type: ignore[arg-type]
    assert NoAlerts().open_alerts(None) == []  # type: ignore[arg-type]
