"""The ward board's selection and its one ordering rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from neurocart.config import get_settings
from neurocart.store import Database, repo
from neurocart.store.models import Assessment, Base, ClinicalEvent, EventType
from neurocart.web.alerts import AlertView
from neurocart.web.board import BoardRow, Grade, acute_board, urgency_key
from tests.store.factories import patient
from tests.web.conftest import World

T0 = datetime(2025, 3, 3, 8, tzinfo=UTC)


def alert(study_id: str, severity: str, *, acked: bool = False) -> AlertView:
    return AlertView(
        id=f"{study_id}:{severity}", study_id=study_id, rule="fever", title="Fever",
        severity=severity, disciplines=("hematology",), text="", recommended="",
        opened_at=T0, acknowledged_at=T0 if acked else None,
        acknowledged_by="dr" if acked else None,
    )  # fmt: skip


def row(study_id: str, day: int, *, crs: int | None = None, icans: int | None = None,
        alerts: list[AlertView] | None = None) -> BoardRow:  # fmt: skip
    return BoardRow(
        study_id, "ms", day,
        crs=Grade(crs, "", T0), icans=Grade(icans, "", T0), alerts=alerts or [],
    )  # fmt: skip


def test_most_urgent_first() -> None:
    rows = [
        row("quiet-late", 12),
        row("quiet-early", 2),
        row("crs2", 5, crs=2),
        row("icans3", 6, icans=3),
        row("warning", 9, alerts=[alert("warning", "warning")]),
        row("critical", 10, alerts=[alert("critical", "critical")]),
        row("warning-acked", 1, alerts=[alert("warning-acked", "warning", acked=True)]),
    ]
    ordered = [r.study_id for r in sorted(rows, key=urgency_key)]
    assert ordered == [
        "critical", "warning", "warning-acked", "icans3", "crs2", "quiet-early", "quiet-late",
    ]  # fmt: skip


def _assessment(instrument: str, value: int, at: datetime, label: str) -> Assessment:
    return Assessment(id=1, instrument=instrument, value=value, label=label, effective_at=at)


def _episode(grade: int, onset: datetime, end: datetime | None) -> ClinicalEvent:
    return ClinicalEvent(id=1, type=EventType.CRS, grade=grade, onset_at=onset, end_at=end)


def test_the_board_lists_the_acute_patients_and_those_with_alerts(world: World) -> None:
    now = world.seeded.now
    with world.database.reading() as session:
        rows = acute_board(session, [], now=now)
        assert sorted(r.study_id for r in rows) == sorted(world.seeded.acute)
        assert all(r.day is not None and 0 <= r.day <= 14 for r in rows)
        assert all(r.temperature is not None for r in rows)
        other = next(s for s in world.seeded.study_ids if s not in world.seeded.acute)
        with_alert = acute_board(session, [alert(other, "urgent")], now=now)
    assert with_alert[0].study_id == other
    assert len(with_alert) == len(rows) + 1


def test_a_deceased_patient_is_not_on_the_board_unless_an_alert_is_open(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'board.db'}")
    Base.metadata.create_all(database.engine)
    infused, now = T0, T0 + timedelta(days=3)
    with database.transaction() as session:
        nurse = repo.create_user(session, None, username="n", password_hash="x", role="nurse")
        for sid in ("NC-ALIVE", "NC-DEAD"):
            pid = patient(session, nurse, sid).id
            repo.create_course(session, nurse, repo.CourseIn(
                patient_id=pid, product="CD19 CAR-T", target="CD19",
                enrolment_date=date(2025, 2, 1), infusion_at=infused,
                protocol_id="nad-cart-2025",
            ))  # fmt: skip
        repo.add_event(session, nurse, repo.EventIn(pid, "death", onset_at=T0 + timedelta(days=2)))
    try:
        with database.reading() as session:
            rows = acute_board(session, [], now=now)
            assert [r.study_id for r in rows] == ["NC-ALIVE"]
            assert rows[0].tasks  # the living patient has tasks due and missed
            with_alert = acute_board(session, [alert("NC-DEAD", "urgent")], now=now)
            before = acute_board(session, [], now=T0 + timedelta(days=1))
    finally:
        database.dispose()
    assert [r.study_id for r in with_alert] == ["NC-DEAD", "NC-ALIVE"]  # the alert first
    assert with_alert[0].tasks == []  # nothing due or overdue after the death
    assert {r.study_id for r in before} == {"NC-ALIVE", "NC-DEAD"}  # alive on day 1


def test_the_board_counts_the_study_day_on_the_site_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Infused at 19:44 Beijing time: at 03:00 the next morning it is day 1 on the board, as on
    the chart (`neurocart.studyday`), though only 7 hours have passed and it is still the
    infusion's date in UTC."""
    monkeypatch.setenv("NEUROCART_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    database = Database.from_url(f"sqlite:///{tmp_path / 'board.db'}")
    Base.metadata.create_all(database.engine)
    infused = datetime(2025, 3, 2, 11, 44, tzinfo=UTC)  # 19:44 in Beijing
    try:
        with database.transaction() as session:
            nurse = repo.create_user(session, None, username="n", password_hash="x", role="nurse")
            pid = patient(session, nurse, "NC-NIGHT").id
            repo.create_course(session, nurse, repo.CourseIn(
                patient_id=pid, product="CD19 CAR-T", target="CD19",
                enrolment_date=date(2025, 2, 1), infusion_at=infused,
                protocol_id="nad-cart-2025",
            ))  # fmt: skip
        with database.reading() as session:
            evening = acute_board(session, [], now=datetime(2025, 3, 2, 15, 30, tzinfo=UTC))
            night = acute_board(session, [], now=datetime(2025, 3, 2, 19, 0, tzinfo=UTC))
            fourteen = acute_board(session, [], now=datetime(2025, 3, 16, 15, 0, tzinfo=UTC))
            fifteen = acute_board(session, [], now=datetime(2025, 3, 16, 16, 30, tzinfo=UTC))
    finally:
        database.dispose()
        get_settings.cache_clear()
    assert [r.day for r in evening] == [0]  # 23:30 Beijing time, the infusion's evening
    assert [r.day for r in night] == [1]  # 03:00 the next morning
    assert [r.day for r in fourteen] == [14]  # 23:00 on 16 March, Beijing time
    assert fifteen == []  # 00:30 on 17 March: day 15, off the acute board
