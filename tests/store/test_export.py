"""export_frames: current rows of a few constructed patients → frames matching the contract."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from neurocart.frames import INSTANT, SCHEMA, CohortFrames, Selection
from neurocart.services import assessments
from neurocart.store import repo
from neurocart.store.export import ExportError, export_frames
from tests.store.factories import EASIX_INPUTS, T0, patient, temperatures

INFUSION = datetime(2025, 3, 3, 10, 30, tzinfo=UTC)


@pytest.fixture
def cohort(database, admin):
    with database.transaction() as session:
        a = patient(session, admin, "NC-002")
        b = patient(session, admin, "NC-001")
        repo.update_patient(session, admin, b.id, site="HAM", diagnosis="nmosd", subtype=None)
        repo.create_course(
            session,
            admin,
            repo.CourseIn(
                a.id,
                "BCMA CAR-T",
                target="BCMA",
                dose_cells_per_kg=1e6,
                lymphodepletion="flu/cy",
                enrolment_date=date(2025, 1, 6),
                infusion_at=INFUSION,
                protocol_id="nad-cart-2025",
            ),
        )
        repo.create_course(session, admin, repo.CourseIn(b.id, "BCMA CAR-T", target="BCMA"))
        ids = repo.add_observations(session, admin, temperatures(a.id, 3))
        repo.correct_observation(session, admin, ids[0], reason="typo", value=38.2)
        repo.retract_observation(session, admin, ids[1], reason="wrong patient")
        repo.add_observations(session, admin, temperatures(b.id, 1))
        assessments.add_assessment(
            session, admin, repo.AssessmentIn(a.id, "easix", EASIX_INPUTS, INFUSION)
        )
        repo.add_event(
            session,
            admin,
            repo.EventIn(
                a.id,
                "drug_given",
                onset_at=INFUSION + timedelta(days=2),
                drug="tocilizumab",
                dose=8,
                dose_unit="mg/kg",
                details={"reason": "crs"},
            ),
        )
        repo.add_event(
            session,
            admin,
            repo.EventIn(
                a.id,
                "adverse_event",
                onset_at=INFUSION + timedelta(days=1),
                end_at=INFUSION + timedelta(days=3),
                ctcae_term="crs",
                grade=2,
            ),
        )
    return a, b


def test_frames_match_the_contract(database, cohort):
    with database.reading() as session:
        frames = export_frames(session)
    assert isinstance(frames, CohortFrames)
    for name, frame in frames.tables().items():
        assert list(frame.columns) == list(SCHEMA[name])
        for column, dtype in SCHEMA[name].items():
            assert frame[column].dtype == pd.api.types.pandas_dtype(dtype), (name, column)

    patients = frames.patients
    assert patients["study_id"].tolist() == ["NC-001", "NC-002"]
    assert patients["diagnosis"].tolist() == ["nmosd", "mg"]
    assert patients["diagnosis_date"].tolist() == [date(2015, 6, 1)] * 2
    assert patients["prior_therapies"].iloc[0] == ["rituximab", "eculizumab"]

    courses = frames.courses.set_index("study_id")
    assert courses.loc["NC-002", "infusion_at"] == pd.Timestamp(INFUSION)
    assert courses.loc["NC-002", "enrolment_at"] == pd.Timestamp("2025-01-06", tz="UTC")
    assert courses.loc["NC-002", "ld_regimen"] == "flu/cy"
    assert pd.isna(courses.loc["NC-001", "infusion_at"])

    obs = frames.observations
    mine = obs[obs["study_id"] == "NC-002"]
    # the corrected value replaces the first, the retracted one is gone, the third stays
    assert mine["value"].tolist() == [38.2, 37.02]
    assert (mine["unit"] == "Cel").all()
    assert (mine["specimen"] == "blood").all()
    assert str(obs["effective_at"].dt.tz) == "UTC"
    assert obs["effective_at"].iloc[0] == pd.Timestamp("2025-03-01 08:00", tz="UTC")

    (assessment,) = frames.assessments.itertuples(index=False)
    assert assessment.instrument == "easix"
    assert assessment.inputs["ldh_u_l"] == 250
    assert assessment.effective_at == pd.Timestamp(INFUSION)

    events = frames.events
    assert events["type"].tolist() == ["adverse_event", "drug_given"]
    assert events["term"].iloc[0] == "crs"
    assert events["grade"].iloc[0] == 2
    assert pd.isna(events["grade"].iloc[1])
    assert pd.isna(events["end_at"].iloc[1])
    assert events["end_at"].iloc[0] == pd.Timestamp(INFUSION + timedelta(days=3))
    assert events["details"].iloc[1] == {"reason": "crs", "dose": 8.0, "unit": "mg/kg"}


def test_rows_come_by_study_id_then_time_whatever_the_patients_ids(database, cohort):
    a, b = cohort  # NC-002 was registered first: its patient id is the lower one
    assert a.id < b.id
    with database.reading() as session:
        frames = export_frames(session)
    obs = frames.observations
    assert obs["study_id"].tolist() == ["NC-001", "NC-002", "NC-002"]
    mine = obs[obs["study_id"] == "NC-002"]["effective_at"]
    assert mine.is_monotonic_increasing


def test_site_filter(database, cohort):
    with database.reading() as session:
        frames = export_frames(session, site="HAM")
    assert frames.patients["study_id"].tolist() == ["NC-001"]
    assert set(frames.observations["study_id"]) == {"NC-001"}
    assert frames.events.empty
    assert frames.assessments.empty
    assert list(frames.events.columns) == list(SCHEMA["events"])


def test_empty_store_exports_empty_frames(database):
    with database.reading() as session:
        frames = export_frames(session)
    assert frames.problems() == []


def test_missing_birth_year_is_named(database, admin):
    with database.transaction() as session:
        p = patient(session, admin, "NC-009")
        repo.update_patient(session, admin, p.id, birth_year=None)
    with pytest.raises(ExportError, match="NC-009"), database.reading() as session:
        export_frames(session)


def test_a_partial_read_keeps_the_selected_rows_and_each_patients_latest_fact(database, cohort):
    only = Selection(frozenset({"8310-5"}), frozenset(), frozenset({"adverse_event"}))
    until = T0 + timedelta(hours=1, minutes=30)
    with database.reading() as session:
        frames = export_frames(session, only=only, until=until)
        everything = export_frames(session, only=only)
    assert frames.partial is not None
    assert frames.partial.selection == only
    assert frames.partial.until == pd.Timestamp(until)
    # NC-002's second temperature (T0 + 1 h) is retracted: the corrected first one is latest
    obs = frames.observations
    assert obs["study_id"].tolist() == ["NC-001", "NC-002"]
    assert obs["value"].tolist() == [37.0, 38.2]
    assert frames.assessments.empty  # not selected
    assert frames.events.empty  # after `until`
    latest = frames.partial.latest
    assert latest.to_dict() == {"NC-001": pd.Timestamp(T0), "NC-002": pd.Timestamp(T0)}
    # without a cut-off the latest fact is the drug given, an event type not read
    assert everything.events["type"].tolist() == ["adverse_event"]
    assert everything.partial is not None
    assert everything.partial.until is None
    latest = everything.partial.latest
    assert latest["NC-002"] == pd.Timestamp(INFUSION + timedelta(days=2))
    assert latest.dtype == pd.api.types.pandas_dtype(INSTANT)


def test_a_cut_off_is_only_for_a_partial_read(database, cohort):
    with pytest.raises(ValueError, match="until"), database.reading() as session:
        export_frames(session, until=INFUSION)
