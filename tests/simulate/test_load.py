"""Loading a simulated cohort through the service layer: every row, scored, audited, exportable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neurocart import monitor
from neurocart.services.journal import history
from neurocart.simulate import Simulation, simulate
from neurocart.simulate.load import LoadReport, load_cohort, simulator_account
from neurocart.store import Database, audit
from neurocart.store.export import export_frames
from neurocart.store.models import Assessment, ClinicalEvent, Observation, Patient, User
from tests import dbfixtures

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


db_url = dbfixtures.db_url  # an empty database on SQLite and on PostgreSQL
pg_session_url = dbfixtures.pg_session_url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database.from_url(db_url)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(5, 11, now=NOW, acute_now=2)


def _load(database: Database, sim: Simulation, **kwargs: Any) -> LoadReport:
    with database.transaction() as session:
        actor = simulator_account(session)
    return load_cohort(database, sim.frames, actor=actor, **kwargs)


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_every_row_is_stored_scored_and_audited(database: Database, sim: Simulation) -> None:
    report = _load(database, sim)
    frames = sim.frames
    assert (report.patients, report.courses) == (len(frames.patients), len(frames.courses))
    assert report.observations == len(frames.observations)
    assert report.assessments == len(frames.assessments)
    assert report.events == len(frames.events)
    with database.reading() as session:
        assert _count(session, Patient) == len(frames.patients)
        assert _count(session, Observation) == len(frames.observations)
        assert _count(session, Assessment) == len(frames.assessments)
        assert _count(session, ClinicalEvent) == len(frames.events)
        assert audit.verify(session).problems == []
        author = session.scalar(select(User).where(User.username == "simulator"))
        assert author is not None
        assert not author.active
        exported = export_frames(session)

    def keyed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        return frame[keys].sort_values(keys[:3]).reset_index(drop=True)

    obs_keys = ["study_id", "code", "effective_at", "value", "unit", "specimen"]
    pd.testing.assert_frame_equal(
        keyed(exported.observations, obs_keys), keyed(frames.observations, obs_keys)
    )
    # Stored scores come from the store's calculators, not copied from the frames.
    a_keys = ["study_id", "instrument", "effective_at", "value", "label"]
    pd.testing.assert_frame_equal(
        keyed(exported.assessments, a_keys), keyed(frames.assessments, a_keys)
    )
    e_keys = ["study_id", "type", "onset_at", "end_at", "grade", "term", "drug", "detail"]

    def events(frame: pd.DataFrame) -> pd.DataFrame:  # details (with the dose) comparable
        return keyed(
            frame.assign(detail=frame["details"].map(lambda d: str(sorted(d.items())))), e_keys
        )

    pd.testing.assert_frame_equal(events(exported.events), events(frames.events))
    pd.testing.assert_frame_equal(exported.patients, frames.patients)
    pd.testing.assert_series_equal(exported.courses["infusion_at"], frames.courses["infusion_at"])
    assert report.studies == len(frames.mri_scans) + len(frames.ncs_studies)
    pd.testing.assert_frame_equal(exported.mri_scans, frames.mri_scans)
    nerves = ["study_id", "study_date", "lab"]
    pd.testing.assert_frame_equal(exported.ncs_studies[nerves], frames.ncs_studies[nerves])
    assert list(exported.ncs_studies["nerves"]) == list(frames.ncs_studies["nerves"])


def test_nerve_conduction_studies_are_stored_and_read(database: Database) -> None:
    cidp = simulate(2, 5, now=NOW, diseases={"cidp": 1.0}, stages={"completed": 1.0})
    assert len(cidp.frames.ncs_studies) == 6
    report = _load(database, cidp)
    assert report.studies == 6
    with database.reading() as session:
        exported = export_frames(session)
    assert list(exported.ncs_studies["nerves"]) == list(cidp.frames.ncs_studies["nerves"])


def test_each_patients_facts_reach_the_journal_in_time_order(
    database: Database, sim: Simulation
) -> None:
    """The monitor reads the journal in commit order: each patient's history as it happened."""
    report = _load(database, sim)
    with database.reading() as session:
        fed = history(session)
    facts = [
        f
        for f in fed
        if isinstance(f.item, monitor.Observation | monitor.Assessment | monitor.Event)
    ]
    assert len(facts) == report.observations + report.assessments + report.events
    for patient_id in report.patient_ids.values():
        times = [f.item.time for f in facts if f.patient_id == patient_id]
        assert times == sorted(times)
    assert {type(f.item).__name__ for f in facts} == {"Observation", "Assessment", "Event"}
