"""The audit chain: every write is chained, and tampering behind the application is found."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from neurocart.store import AuditEntry, Observation, audit, repo
from tests.store.factories import EASIX_INPUTS, T0, patient, temperatures


@pytest.fixture
def record(database, admin, nurse):
    """A small record touching every audited table; returns the observation ids."""
    with database.transaction() as session:
        p = patient(session, admin)
        course = repo.create_course(session, admin, repo.CourseIn(p.id, "KYV-101", target="CD19"))
        repo.update_course(session, admin, course.id, protocol_id="nad-cart-2025")
        ids = repo.add_observations(session, nurse, temperatures(p.id, 5))
        repo.correct_observation(session, admin, ids[0], reason="typo", value=37.5)
        repo.add_assessment(session, admin, repo.AssessmentIn(p.id, "easix", EASIX_INPUTS, T0))
        repo.add_event(session, admin, repo.EventIn(p.id, "crs", T0, grade=1, details={"a": 1}))
        repo.set_task(
            session, nurse, p.id, protocol_id="x", task_id="vitals", slot_start=T0, state="due"
        )
        repo.update_user(session, admin, nurse.id, active=False)
    return ids


def _raw(database, sql: str, **params) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(sql), params)


def _verify(database) -> audit.Verification:
    with database.reading() as session:
        return audit.verify(session)


def _create_seq(database, entity_type: str, entity_id: int) -> int:
    with database.reading() as session:
        return repo.audit_trail(session, entity_type, entity_id)[0].seq


def test_untouched_record_verifies(database, record):
    result = _verify(database)
    assert result.ok, result.problems
    with database.reading() as session:
        assert result.entries == session.scalar(select(func.count()).select_from(AuditEntry))
        assert result.head_hash == audit.head(session)[1]
    assert result.entries == 2 + 1 + 2 + 5 + 1 + 1 + 1 + 1 + 1


def test_raw_update_of_an_observation_is_detected(database, record):
    _raw(database, "UPDATE observations SET value = 41.0 WHERE id = :id", id=record[2])
    result = _verify(database)
    assert not result.ok
    assert result.first.seq == _create_seq(database, "observation", record[2])
    assert result.first.entity == f"observation {record[2]}"
    assert "changed behind the application's back" in result.first.reason
    assert "value 37.02 → 41.0" in result.first.reason


def test_raw_update_of_a_superseded_observation_is_detected(database, record):
    _raw(database, "UPDATE observations SET value = 36.0 WHERE id = :id", id=record[0])
    assert _verify(database).first.entity == f"observation {record[0]}"


def test_raw_delete_of_an_observation_is_detected(database, record):
    _raw(database, "DELETE FROM observations WHERE id = :id", id=record[3])
    result = _verify(database)
    assert result.first.seq == _create_seq(database, "observation", record[3])
    assert "missing (deleted)" in result.first.reason


def test_raw_insert_of_an_observation_is_detected(database, record, admin):
    with database.reading() as session:
        row = {
            c.key: getattr(repo.get_observation(session, record[1]), c.key)
            for c in Observation.__table__.columns
        }
    with database.engine.begin() as connection:
        connection.execute(Observation.__table__.insert(), [row | {"id": 9999}])
    result = _verify(database)
    assert result.first.seq is None
    assert result.first.entity == "observation 9999"
    assert "without an audit entry" in result.first.reason


def test_raw_edit_of_an_audit_entry_is_detected(database, record):
    _raw(database, "UPDATE audit_log SET actor = 'someone' WHERE seq = 4")
    result = _verify(database)
    assert (result.first.seq, result.first.reason) == (4, "hash mismatch: the entry was altered")


def test_rehashed_audit_entry_breaks_the_next_link(database, record):
    with database.reading() as session:
        e = session.get(AuditEntry, 4)
        forged = audit.entry_hash(
            e.seq,
            e.at,
            "someone",
            e.action,
            e.entity_type,
            e.entity_id,
            e.old_values,
            e.new_values,
            e.prev_hash,
        )
    _raw(database, "UPDATE audit_log SET actor = 'someone', hash = :h WHERE seq = 4", h=forged)
    result = _verify(database)
    assert result.first.seq == 5
    assert "prev_hash" in result.first.reason


def test_raw_delete_of_an_audit_entry_is_detected(database, record):
    _raw(database, "DELETE FROM audit_log WHERE seq = 6")
    result = _verify(database)
    assert result.first.seq == 7
    assert result.first.reason == "gap in seq: entry 6 deleted"
    # and the row that entry recorded now has none
    assert any("without an audit entry" in p.reason for p in result.problems)


def test_hash_serialization_is_frozen():
    """Changing the canonical form would orphan every chain already stored."""
    at = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    new = {"value": 38.5, "code": "8310-5", "é": None}
    assert audit.canonical([1, new]) == '[1,{"code":"8310-5","value":38.5,"é":null}]'
    payload = (
        '[1,"2025-03-01T08:00:00+00:00","ana","create","observation",7,null,'
        '{"code":"8310-5","value":38.5,"é":null},"' + "0" * 64 + '"]'
    )
    assert (
        audit.entry_hash(1, at, "ana", "create", "observation", 7, None, new, audit.GENESIS)
        == hashlib.sha256(payload.encode()).hexdigest()
    )


def test_concurrent_writers_do_not_fork_the_chain(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for _ in range(5):
                with database.transaction() as session:
                    repo.add_observations(session, admin, temperatures(p.id, 3, start=30 + k))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = _verify(database)
    assert result.ok, result.problems
    assert result.entries == 2 + 4 * 5 * 3


def test_fast_snapshot_text_is_the_canonical_json(database, record, admin):
    """`snapshot_texts` (batches, verify) must equal canonical(snapshot) (single writes)."""
    with database.transaction() as session:
        p = repo.get_patient(session, 1)
        repo.add_event(
            session,
            admin,
            repo.EventIn(
                p.id,
                "drug_given",
                T0,
                drug='dexa "méthasone"\n\t\\',
                dose=8,
                dose_unit="mg",
                details={"z": [1, 2.5, -0.0, 1e-7, 1e16], "ä": {"b": None, "a": True}},
            ),
        )
    with database.reading() as session:
        for model in audit.AUDITED.values():
            table = model.__table__
            rows = session.execute(select(table)).mappings().all()
            assert rows
            fast = audit.snapshot_texts(table, rows)
            assert fast == [audit.canonical(audit.snapshot_values(table, r)) for r in rows]
