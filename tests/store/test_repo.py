"""Repository behaviour: records, append-only corrections, history, and input checks."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from neurocart.services import assessments
from neurocart.standards import CalculatorInputError
from neurocart.store import (
    AuditEntry,
    BatchTooLargeError,
    ConflictError,
    Diagnosis,
    EventType,
    InvalidRecordError,
    NotFoundError,
    Observation,
    Role,
    Specimen,
    audit,
    repo,
)
from tests.store.factories import EASIX_INPUTS, T0, patient, temperatures


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- users, patients, courses -------------------------------------------------------------


def test_users_are_created_once_and_updated_with_audit(database, admin):
    with database.transaction() as session, pytest.raises(ConflictError, match="username"):
        repo.create_user(session, admin, username="admin", password_hash="z", role="nurse")
    with database.transaction() as session:
        user = repo.create_user(session, admin, username="ana", password_hash="h", role="icu")
        repo.update_user(session, admin, user.id, role=Role.NEUROLOGIST, active=False)
    with database.reading() as session:
        ana = repo.get_user_by_username(session, "ana")
        assert ana is not None
        assert (ana.role, ana.active) == (Role.NEUROLOGIST, False)
        trail = repo.audit_trail(session, "user", ana.id)
        assert [e.action for e in trail] == ["create", "update"]
        assert trail[1].old_values["role"] == "icu"
        assert trail[1].new_values["role"] == "neurologist"
        assert "password_hash" not in trail[0].new_values  # only its digest is recorded
        assert [u.username for u in repo.list_users(session)] == ["admin", "ana"]


def test_unknown_role_names_the_field(database):
    with (
        pytest.raises(InvalidRecordError, match="role: must be one of"),
        database.transaction() as session,
    ):
        repo.create_user(session, None, username="x", password_hash="h", role="janitor")


def test_patient_roundtrip_and_duplicate_study_id(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
    with database.transaction() as session, pytest.raises(ConflictError, match="study_id"):
        patient(session, admin)
    with database.transaction() as session:
        repo.update_patient(session, admin, p.id, subtype="MuSK+", birth_year=None)
    with database.reading() as session:
        stored = repo.find_patient(session, "NC-001")
        assert stored.diagnosis is Diagnosis.MG
        assert stored.prior_therapies == ["rituximab", "eculizumab"]
        assert (stored.subtype, stored.birth_year) == ("MuSK+", None)
        assert [x.study_id for x in repo.list_patients(session, site="ERL")] == ["NC-001"]
        assert repo.list_patients(session, site="elsewhere") == []
        with pytest.raises(NotFoundError, match="study_id: no patient 'NC-404'"):
            repo.find_patient(session, "NC-404")


def test_course_dates_must_run_in_order(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        course = repo.create_course(
            session,
            admin,
            repo.CourseIn(
                p.id,
                "KYV-101",
                target="CD19",
                dose_cells_per_kg=1e6,
                lymphodepletion="Flu/Cy",
                apheresis_date=date(2025, 2, 1),
                protocol_id="nad-cart-2025",
            ),
        )
    with database.transaction() as session:
        repo.update_course(
            session,
            admin,
            course.id,
            ld_start_date=date(2025, 2, 24),
            infusion_date=date(2025, 3, 1),
        )
    with (
        database.transaction() as session,
        pytest.raises(InvalidRecordError, match=r"^infusion_date"),
    ):
        repo.update_course(session, admin, course.id, infusion_date=date(2025, 2, 20))
    with database.transaction() as session, pytest.raises(InvalidRecordError, match="dose_cells"):
        repo.create_course(session, admin, repo.CourseIn(p.id, "x", dose_cells_per_kg=-1))
    with database.reading() as session:
        (stored,) = repo.list_courses(session, p.id)
        assert stored.infusion_date == date(2025, 3, 1)
        assert [e.action for e in repo.audit_trail(session, "course", course.id)] == [
            "create",
            "update",
        ]


# --- observations -------------------------------------------------------------------------


def test_correction_appends_and_keeps_history(database, admin, nurse):
    with database.transaction() as session:
        p = patient(session, admin)
        first = repo.add_observation(session, nurse, temperatures(p.id, 1)[0])
    with database.transaction() as session:
        second = repo.correct_observation(
            session, admin, first.id, reason="transcription error", value=38.4
        )
    with database.reading() as session:
        (current,) = repo.list_observations(session, p.id)
        assert (current.id, current.value, current.supersedes_id) == (second.id, 38.4, first.id)
        assert current.correction_reason == "transcription error"
        assert current.entered_by == admin.id
        old = repo.get_observation(session, first.id)
        assert old.value == 37.0  # never updated
        assert [o.id for o in repo.list_observations(session, p.id, history=True)] == [
            first.id,
            second.id,
        ]
        assert [o.id for o in repo.history(session, Observation, first.id)] == [first.id, second.id]
        assert [o.id for o in repo.history(session, Observation, second.id)] == [
            first.id,
            second.id,
        ]
        (entry,) = repo.audit_trail(session, "observation", second.id)
        assert (entry.action, entry.old_values["value"], entry.new_values["value"]) == (
            "correct",
            37.0,
            38.4,
        )


def test_versions_name_each_row_by_the_first_of_its_chain(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        a, b, c = (repo.add_observation(session, admin, o) for o in temperatures(p.id, 3))
        b2 = repo.correct_observation(session, admin, b.id, reason="typo", value=36.9)
        b3 = repo.correct_observation(session, admin, b2.id, reason="again", value=36.8)
        c2 = repo.correct_observation(session, admin, c.id, reason="typo", value=36.7)
    with database.reading() as session:
        rows = repo.list_observations(session, p.id)  # the current ones, read as a page would
        assert [r.id for r in rows] == [a.id, b3.id, c2.id]
        assert repo.versions(session, Observation, rows) == {
            a.id: (a.id, 1),
            b3.id: (b.id, 3),
            c2.id: (c.id, 2),
        }
        assert repo.versions(session, Observation, []) == {}


def test_a_superseded_row_cannot_be_corrected_again(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        first = repo.add_observation(session, admin, temperatures(p.id, 1)[0])
        repo.correct_observation(session, admin, first.id, reason="typo", value=36.9)
    with database.transaction() as session, pytest.raises(ConflictError, match="already corrected"):
        repo.correct_observation(session, admin, first.id, reason="again", value=36.8)


def test_a_correction_needs_a_reason(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        first = repo.add_observation(session, admin, temperatures(p.id, 1)[0])
    with database.transaction() as session, pytest.raises(InvalidRecordError, match="reason"):
        repo.correct_observation(session, admin, first.id, reason="  ", value=36.8)


def test_retraction_hides_the_row_but_keeps_it(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        wrong = repo.add_observation(session, admin, temperatures(p.id, 1)[0])
        repo.retract_observation(session, admin, wrong.id, reason="wrong patient")
    with database.reading() as session:
        assert repo.list_observations(session, p.id) == []
        versions = repo.list_observations(session, p.id, history=True)
        assert [o.entered_in_error for o in versions] == [False, True]


def test_observation_filters(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        repo.add_observations(session, admin, temperatures(p.id, 10))
        repo.add_observation(session, admin, repo.ObservationIn(p.id, "777-3", 150.0, "10*9/L", T0))
    with database.reading() as session:
        assert len(repo.list_observations(session, p.id)) == 11
        assert len(repo.list_observations(session, p.id, code="777-3")) == 1
        window = repo.list_observations(
            session,
            p.id,
            code="8310-5",
            since=T0 + timedelta(hours=2),
            until=T0 + timedelta(hours=5),
        )
        assert [o.effective_at for o in window] == [T0 + timedelta(hours=h) for h in (2, 3, 4)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": float("nan")}, "value"),
        ({"effective_at": T0.replace(tzinfo=None)}, "effective_at"),
        ({"specimen": "urine"}, "specimen"),
    ],
)
def test_bad_observation_names_the_field(database, admin, change, field):
    with database.transaction() as session:
        p = patient(session, admin)
    item = temperatures(p.id, 1)[0]
    fields = {name: getattr(item, name) for name in repo.ObservationIn.__dataclass_fields__}
    with pytest.raises(InvalidRecordError, match=f"^{field}:"), database.transaction() as session:
        repo.add_observation(session, admin, repo.ObservationIn(**(fields | change)))


def test_observation_for_unknown_patient(database, admin):
    with database.transaction() as session, pytest.raises(NotFoundError, match="patient_id"):
        repo.add_observation(session, admin, temperatures(999, 1)[0])


# --- batches ------------------------------------------------------------------------------


def test_batch_writes_rows_and_one_audit_entry_covering_them(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        before = audit.head(session)[0]
        ids = repo.add_observations(session, admin, temperatures(p.id, 500))
    with database.reading() as session:
        assert len(ids) == 500
        assert ids == sorted(ids)
        assert _count(session, Observation) == 500
        assert audit.head(session)[0] == before + 1
        entry = session.get(AuditEntry, before + 1)
        assert (entry.action, entry.entity_type, entry.entity_id) == (
            "create_batch",
            "observation",
            ids[0],
        )
        rows = audit.batch_rows(entry.new)
        assert [i for i, _ in rows] == ids
        table = Observation.__table__
        stored = session.execute(select(table).where(table.c.id == ids[7])).mappings().one()
        (text,) = audit.snapshot_texts(table, [stored])
        assert rows[7][1] == hashlib.sha256(text.encode()).hexdigest()
        assert repo.get_observation(session, ids[7]).value == pytest.approx(37.07)
        assert [e.seq for e in repo.audit_trail(session, "observation", ids[-1])] == [entry.seq]
        assert audit.verify(session).ok


def test_batch_for_one_patient_from_normalized_rows(database, admin):
    from neurocart.ingest import ObservationIn as Raw
    from neurocart.ingest import normalize_batch

    raw = [Raw(code="8310-5", value=101.3, unit="°F", effective_at=T0, source="x")]
    normalized, errors = normalize_batch(raw * 3)
    assert not errors
    with database.transaction() as session:
        p = patient(session, admin)
        ids = repo.add_patient_observations(session, admin, p.id, normalized)
    with pytest.raises(NotFoundError, match="patient 424242"), database.transaction() as session:
        repo.add_patient_observations(session, admin, 424242, normalized)
    with database.reading() as session:
        stored = [repo.get_observation(session, i) for i in ids]
        assert {(o.patient_id, o.value, o.unit, o.entered_by) for o in stored} == {
            (p.id, 38.5, "°C", admin.id)
        }
        assert audit.verify(session).ok


def test_batch_from_columns_stores_and_audits_what_the_rows_would(database, admin):
    """The column-wise write (services.ingest's) equals the row-wise one, row for row."""
    from neurocart.ingest import ObservationIn as Raw
    from neurocart.ingest import normalize_batch
    from neurocart.ingest.validate import NormalizedColumns, normalize_columns

    minus_three = timezone(timedelta(hours=-3))
    raw = [
        Raw(code="8310-5", value=101.3, unit="°F", effective_at=T0, source="x"),
        Raw(code="751-8", value=-0.0, unit="10*3/uL", effective_at=T0, source="x"),
        Raw(
            code="777-3",
            value=150_000,
            unit="/µL",
            effective_at=(T0 + timedelta(microseconds=7)).astimezone(minus_three),
            source="x",
        ),
        Raw(code="1988-5", value=3.5, unit="mg/L", specimen="serum", effective_at=T0, source="x"),
    ]
    normalized, _ = normalize_batch(raw)
    columns, errors = normalize_columns(raw)
    assert not errors
    with database.transaction() as session:
        p = patient(session, admin)
        by_rows = repo.add_patient_observations(session, admin, p.id, normalized)
        by_columns = repo.add_patient_observation_columns(session, admin, p.id, columns)
        none = NormalizedColumns.from_rows([])
        assert repo.add_patient_observation_columns(session, admin, p.id, none) == []
    table = Observation.__table__
    with database.reading() as session:

        def stored(ids: list[int]) -> list[dict]:
            query = select(table).where(table.c.id.in_(ids)).order_by(table.c.id)
            rows = session.execute(query).mappings()
            return [{k: v for k, v in r.items() if k not in ("id", "recorded_at")} for r in rows]

        assert stored(by_columns) == stored(by_rows)
        values = [repo.get_observation(session, i).value for i in by_columns]
        assert values == [38.5, 0.0, 150.0, 3.5]
        assert math.copysign(1, values[1]) == 1  # -0.0 is stored as 0.0
        times = [repo.get_observation(session, i).effective_at for i in by_columns]
        assert times == [T0, T0, T0 + timedelta(microseconds=7), T0]
        assert audit.verify(session).ok
    with database.transaction() as session, pytest.raises(ValueError, match="same length"):
        repo.add_patient_observation_columns(
            session, admin, p.id, replace(columns, unit=columns.unit[:-1])
        )
    with database.transaction() as session, pytest.raises(BatchTooLargeError):
        repo.add_patient_observation_columns(session, admin, p.id, columns, limit=3)


def test_batch_rows_in_other_forms_are_checked_and_converted(database, admin):
    """Int values, string specimens and non-UTC times take the row-by-row path."""
    plus_two = timezone(timedelta(hours=2))
    items = [
        repo.ObservationIn(0, "777-3", 150, "10*9/L", datetime(2025, 3, 1, 10, tzinfo=plus_two)),
        repo.ObservationIn(0, "1988-5", 3.5, "mg/L", T0, specimen="serum"),
    ]
    with database.transaction() as session:
        p = patient(session, admin)
        items = [replace(i, patient_id=p.id) for i in items]
        ids = repo.add_observations(session, admin, items)
    bad_specimen = [items[0], replace(items[1], specimen="urine")]
    with (
        pytest.raises(InvalidRecordError, match=r"observations\[1\]\.specimen"),
        database.transaction() as session,
    ):
        repo.add_observations(session, admin, bad_specimen)
    naive = [replace(items[0], effective_at=datetime(2025, 3, 1))]
    with (
        pytest.raises(InvalidRecordError, match=r"observations\[0\]\.effective_at"),
        database.transaction() as session,
    ):
        repo.add_observations(session, admin, naive)
    with database.reading() as session:
        first, second = (repo.get_observation(session, i) for i in ids)
        assert (first.value, type(first.value), first.effective_at) == (150.0, float, T0)
        assert second.specimen is Specimen.SERUM
        assert audit.verify(session).ok


def test_batch_is_all_or_nothing(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
    items = temperatures(p.id, 100)
    items[57] = repo.ObservationIn(p.id, "8310-5", float("inf"), "Cel", T0)
    with (
        pytest.raises(InvalidRecordError, match=r"observations\[57\]\.value"),
        database.transaction() as session,
    ):
        repo.add_observations(session, admin, items)
    items[57] = repo.ObservationIn(424242, "8310-5", 37.0, "Cel", T0)
    with pytest.raises(NotFoundError, match="patient 424242"), database.transaction() as session:
        repo.add_observations(session, admin, items)
    with database.reading() as session:
        assert _count(session, Observation) == 0
        assert audit.head(session)[0] == 2  # the admin and the patient
    with (
        pytest.raises(BatchTooLargeError, match="at most 10 per batch"),
        database.transaction() as session,
    ):
        repo.add_observations(session, admin, items, limit=10)
    with database.transaction() as session:
        assert repo.add_observations(session, admin, []) == []


# --- assessments and events ---------------------------------------------------------------


def test_assessment_is_scored_by_its_calculator(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        a = assessments.add_assessment(
            session, admin, repo.AssessmentIn(p.id, "easix", EASIX_INPUTS, T0)
        )
    with database.transaction() as session:
        fixed = assessments.correct_assessment(
            session,
            admin,
            a.id,
            reason="platelets were 100",
            inputs=EASIX_INPUTS | {"platelets_10e9_l": 100},
        )
    with database.reading() as session:
        first = repo.get_assessment(session, a.id)
        assert first.value == pytest.approx(1.508, abs=1e-3)
        assert first.result["calculator"] == "easix"
        assert first.result["reasons"]
        (current,) = repo.list_assessments(session, p.id, instrument="easix")
        assert current.id == fixed.id
        assert current.value == pytest.approx(first.value * 1.5)
        assert current.inputs["platelets_10e9_l"] == 100


def test_assessment_with_bad_inputs_writes_nothing(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
    with pytest.raises(CalculatorInputError) as caught, database.transaction() as session:
        assessments.add_assessment(
            session, admin, repo.AssessmentIn(p.id, "easix", EASIX_INPUTS | {"ldh_u_l": -5}, T0)
        )
    assert caught.value.fields == ["ldh_u_l"]
    with database.reading() as session:
        assert repo.list_assessments(session, p.id) == []


def test_events_and_their_required_fields(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        crs = repo.add_event(session, admin, repo.EventIn(p.id, "crs", T0, grade=1))
        repo.add_event(
            session,
            admin,
            repo.EventIn(
                p.id,
                EventType.DRUG_GIVEN,
                T0 + timedelta(hours=1),
                drug="tocilizumab",
                dose=8,
                dose_unit="mg/kg",
            ),
        )
        ended = repo.correct_event(
            session, admin, crs.id, reason="episode over", end_at=T0 + timedelta(days=2), grade=2
        )
    with database.reading() as session:
        events = repo.list_events(session, p.id)
        assert [e.type for e in events] == [EventType.CRS, EventType.DRUG_GIVEN]
        assert events[0].id == ended.id
        assert (events[0].grade, events[0].end_at) == (2, T0 + timedelta(days=2))
        assert events[1].dose == 8.0
        assert len(repo.list_events(session, p.id, type="crs", history=True)) == 2
        kinds = [e.type for e in repo.list_events(session, p.id, types={"drug_given", "mri"})]
        assert kinds == [EventType.DRUG_GIVEN]
    with database.reading() as session, pytest.raises(InvalidRecordError, match=r"^types:"):
        repo.list_events(session, p.id, types=["flu"])
    bad = [
        (repo.EventIn(p.id, "adverse_event", T0, grade=3), "ctcae_term"),
        (repo.EventIn(p.id, "adverse_event", T0, ctcae_term="Fever", grade=6), "grade"),
        (repo.EventIn(p.id, "drug_given", T0), "drug"),
        (repo.EventIn(p.id, "drug_given", T0, drug="ivig", dose=2), "dose_unit"),
        (repo.EventIn(p.id, "infection", T0, end_at=T0 - timedelta(hours=1)), "end_at"),
        (repo.EventIn(p.id, "flu", T0), "type"),
    ]
    for item, field in bad:
        with pytest.raises(InvalidRecordError, match=f"^{field}:"), database.transaction() as s:
            repo.add_event(s, admin, item)
    with database.transaction() as session, pytest.raises(InvalidRecordError, match=r"^grade"):
        repo.correct_event(session, admin, ended.id, reason="x", grade=None)


# --- tasks --------------------------------------------------------------------------------


def test_task_state_is_created_then_updated(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        task = repo.set_task(
            session,
            admin,
            p.id,
            protocol_id="nad-cart-2025",
            task_id="ice",
            slot_start=T0,
            state="due",
        )
        again = repo.set_task(
            session,
            admin,
            p.id,
            protocol_id="nad-cart-2025",
            task_id="ice",
            slot_start=T0,
            state="due",
        )
        done = repo.set_task(
            session,
            admin,
            p.id,
            protocol_id="nad-cart-2025",
            task_id="ice",
            slot_start=T0,
            state="done",
            completed_by="assessment:1",
        )
    with database.reading() as session:
        assert task.id == again.id == done.id
        (stored,) = repo.list_tasks(session, p.id)
        assert (stored.state, stored.completed_by) == ("done", "assessment:1")
        assert [e.action for e in repo.audit_trail(session, "task", task.id)] == [
            "create",
            "update",
        ]


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(1, 3000), max_size=1200))
def test_ids_in_selects_exactly_the_ids_given(ids):
    """Ranges for runs, IN for the rest: together exactly the rows asked for, every time."""
    engine = sa.create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    table.create(engine)
    with engine.begin() as c:
        c.execute(table.insert(), [{"id": i} for i in range(1, 3001)])
        found: list[int] = []
        for where in repo.ids_in(table.c.id, ids):
            found.extend(c.scalars(sa.select(table.c.id).where(where)))
    assert sorted(found) == sorted(ids)
