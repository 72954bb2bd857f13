"""The chart's columnar read of a history is the same readings as the rows it replaces.

`repo.observation_series` reads a patient's current observations as columns (times as
microseconds, parsed by numpy on SQLite, integers on PostgreSQL); the chart figures drawn
from it must equal, value for value and text for text, those drawn from the ORM's rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from neurocart.store import Database, User, repo
from neurocart.store.models import Observation
from neurocart.web import chart

T0 = datetime(2025, 3, 1, 6, 30, 0, 123_457, tzinfo=UTC)
INFUSION = datetime(2025, 3, 3, 10, tzinfo=UTC)


def _history(patient_id: int) -> list[repo.ObservationIn]:
    rows = []
    for i in range(chart.MAX_POINTS + 700):  # long enough to be drawn by its extremes
        at = T0 + timedelta(seconds=37 * (i // 2), microseconds=i % 2)  # pairs 1 µs apart
        spo2 = 81.0 if i == 1_234 else 95.0 + (i * 7919 % 5)
        rows.append(repo.ObservationIn(patient_id, "59408-5", spo2, "%", at))
    for i in range(40):  # CRP on a log axis: the zeros ("below detection") are not drawn
        at = T0 + timedelta(hours=6 * i, microseconds=999_999 * (i % 2))
        rows.append(repo.ObservationIn(patient_id, "1988-5", float(i % 3) * 12.5, "mg/L", at))
    for i in range(30):  # temperatures, several at one instant
        at = T0 + timedelta(hours=2 * (i // 3))
        rows.append(repo.ObservationIn(patient_id, "8310-5", 36.5 + i / 10, "Cel", at))
    rows.append(repo.ObservationIn(patient_id, "9999-9", 1.0, "x", T0))  # not charted
    return rows


def _figures(observations: object, infusion: datetime | None) -> list[object]:
    panels = (*chart.VITAL_PANELS, *chart.LAB_PANELS, chart.CART_PANEL)
    return [chart.panel_figure(p, observations, infusion) for p in panels]  # type: ignore[arg-type]


@pytest.mark.parametrize("infusion", [INFUSION, None])
def test_the_chart_from_columns_is_the_chart_from_rows(
    database: Database, nurse: User, infusion: datetime | None
) -> None:
    with database.transaction() as session:
        patient = repo.create_patient(session, None, repo.PatientIn("NC-001", "HD", "female", "mg"))
        ids = repo.add_observations(session, nurse, _history(patient.id))
    with database.transaction() as session:
        repo.correct_observation(session, nurse, ids[5], reason="typo", value=42.0)
        repo.retract_observation(session, nurse, ids[1_234], reason="probe off")
    with database.reading() as session:
        series = repo.observation_series(session, patient.id, chart.CHART_CODES)
        rows = session.scalars(
            select(Observation)
            .where(Observation.patient_id == patient.id, repo.current(Observation))
            .where(Observation.code.in_(sorted(chart.CHART_CODES)))
            .order_by(Observation.effective_at, Observation.id)
        ).all()
        grouped = chart.by_code(rows)
        assert list(series) == list(grouped)
        for code, readings in grouped.items():
            columns = series[code]
            assert len(columns) == len(readings)
            assert [columns.effective_at(i) for i in range(len(columns))] == [
                o.effective_at for o in readings
            ]
            assert columns.values.tolist() == [o.value for o in readings]
            assert columns.units.tolist() == [o.unit for o in readings]
        assert _figures(series, infusion) == _figures(grouped, infusion)
    assert len(series["59408-5"]) > chart.MAX_POINTS  # the extremes were exercised


def test_no_observation_is_no_series(database: Database) -> None:
    with database.transaction() as session:
        patient = repo.create_patient(session, None, repo.PatientIn("NC-002", "HD", "female", "mg"))
    with database.reading() as session:
        assert repo.observation_series(session, patient.id, chart.CHART_CODES) == {}
