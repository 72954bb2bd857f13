"""The audit chain: every write is chained, and tampering behind the application is found."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from neurocart.services import assessments
from neurocart.services.accounts import record_signature
from neurocart.store import AuditEntry, Observation, Specimen, audit, records, repo
from neurocart.store.models import MriScan, NerveConductionStudy
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
        assessments.add_assessment(
            session, admin, repo.AssessmentIn(p.id, "easix", EASIX_INPUTS, T0)
        )
        repo.add_event(session, admin, repo.EventIn(p.id, "crs", T0, grade=1, details={"a": 1}))
        repo.set_task(
            session, nurse, p.id, protocol_id="x", task_id="vitals", slot_start=T0, state="due"
        )
        repo.update_user(session, admin, nurse.id, active=False)
        single = repo.add_observation(session, nurse, temperatures(p.id, 1, start=39.1)[0])
    return [*ids, single.id]


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
    # users, patient, course ×2, ONE batch entry for 5 rows, correction, assessment, event,
    # task, user update, single observation
    assert result.entries == 2 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1 + 1


def _batch_seq(database) -> int:
    with database.reading() as session:
        return session.scalar(select(AuditEntry.seq).where(AuditEntry.action == audit.BATCH_ACTION))


def test_raw_update_of_a_batch_observation_is_detected(database, record):
    _raw(database, "UPDATE observations SET value = 41.0 WHERE id = :id", id=record[2])
    result = _verify(database)
    assert not result.ok
    assert (
        result.first.seq == _create_seq(database, "observation", record[2]) == _batch_seq(database)
    )
    assert result.first.entity == f"observation {record[2]}"
    assert "changed behind the application's back" in result.first.reason
    assert "digest its batch entry recorded" in result.first.reason


def test_raw_update_of_a_single_observation_names_the_change(database, record):
    _raw(database, "UPDATE observations SET value = 41.0 WHERE id = :id", id=record[-1])
    result = _verify(database)
    assert result.first.seq == _create_seq(database, "observation", record[-1])
    assert result.first.entity == f"observation {record[-1]}"
    assert "value 39.1 → 41" in result.first.reason  # RFC 8785: 41.0 is 41


@pytest.mark.parametrize("column", ["effective_at", "recorded_at", "entered_by", "specimen"])
def test_any_column_of_a_batch_row_is_covered(database, record, column):
    values = {
        "effective_at": "2031-01-01 00:00:00.000000",
        "recorded_at": "2031-01-01 00:00:00.000000",
        "entered_by": 1,
        "specimen": "csf",
    }
    if database.engine.dialect.name == "postgresql" and column.endswith("_at"):
        values[column] = "2031-01-01T00:00:00+00:00"
    _raw(
        database,
        f"UPDATE observations SET {column} = :v WHERE id = :id",
        v=values[column],
        id=record[4],
    )
    assert _verify(database).first.entity == f"observation {record[4]}"


def test_raw_update_of_a_superseded_observation_is_detected(database, record):
    _raw(database, "UPDATE observations SET value = 36.0 WHERE id = :id", id=record[0])
    assert _verify(database).first.entity == f"observation {record[0]}"


def test_raw_delete_of_a_batch_observation_is_detected(database, record):
    _raw(database, "DELETE FROM observations WHERE id = :id", id=record[3])
    result = _verify(database)
    assert (
        result.first.seq == _create_seq(database, "observation", record[3]) == _batch_seq(database)
    )
    assert result.first.entity == f"observation {record[3]}"
    assert "missing (deleted)" in result.first.reason
    assert len(result.problems) == 1


def test_raw_delete_of_a_single_observation_is_detected(database, record):
    _raw(database, "DELETE FROM observations WHERE id = :id", id=record[-1])
    result = _verify(database)
    assert result.first.seq == _create_seq(database, "observation", record[-1])
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


def test_raw_insert_next_to_a_batch_is_detected(database, record):
    """A row slipped in with the id right after a batch's is not covered by that batch."""
    with database.reading() as session:
        row = {
            c.key: getattr(repo.get_observation(session, record[4]), c.key)
            for c in Observation.__table__.columns
        }
    with database.engine.begin() as connection:
        connection.execute(Observation.__table__.insert(), [row | {"id": record[-1] + 1}])
    result = _verify(database)
    assert [(p.seq, p.entity) for p in result.problems] == [(None, f"observation {record[-1] + 1}")]


def test_edited_digest_list_of_a_batch_entry_is_detected(database, record):
    seq = _batch_seq(database)
    with database.reading() as session:
        new = session.get(AuditEntry, seq).new
    pairs = audit.batch_rows(new)
    dropped = audit.canonical([list(p) for p in pairs[1:]])  # forget the first row
    _raw(database, "UPDATE audit_log SET new = :new WHERE seq = :seq", new=dropped, seq=seq)
    result = _verify(database)
    assert (result.first.seq, result.first.reason) == (seq, "hash mismatch: the entry was altered")
    assert any(
        p.entity == f"observation {record[0]}" and "without an audit entry" in p.reason
        for p in result.problems
    )


def test_rehashed_batch_entry_breaks_the_next_link(database, record):
    seq = _batch_seq(database)
    with database.reading() as session:
        e = session.get(AuditEntry, seq)
        pairs = [[i, "0" * 64 if i == record[1] else d] for i, d in audit.batch_rows(e.new)]
        forged_new = audit.canonical(pairs)
        key = audit.current_keyring()  # even with the key, the next link breaks
        forged = audit.entry_hash(
            e.seq, e.at, e.actor, e.action, e.entity_type, e.entity_id, None, pairs, e.prev_hash,
            key_id=key.current, secret=key.secret,
        )  # fmt: skip
    _raw(
        database,
        "UPDATE audit_log SET new = :new, hash = :h WHERE seq = :seq",
        new=forged_new,
        h=forged,
        seq=seq,
    )
    problems = [(p.seq, p.entity, p.reason) for p in _verify(database).problems]
    assert problems[1] == (seq + 1, None, "prev_hash does not match the previous entry's hash")
    assert problems[0][:2] == (seq, f"observation {record[1]}")  # the row and the forged digest


def test_unreadable_batch_entry_is_reported(database, record):
    seq = _batch_seq(database)
    _raw(database, "UPDATE audit_log SET new = '[[1,\"zz\"]]' WHERE seq = :seq", seq=seq)
    reasons = [(p.seq, p.reason) for p in _verify(database).problems]
    assert (seq, "hash mismatch: the entry was altered") in reasons
    assert (seq, "batch entry's row digests are unreadable") in reasons


def test_raw_delete_of_a_batch_entry_is_detected(database, record):
    seq = _batch_seq(database)
    _raw(database, "DELETE FROM audit_log WHERE seq = :seq", seq=seq)
    result = _verify(database)
    assert (result.first.seq, result.first.reason) == (
        seq + 1,
        f"gap in seq: entry {seq} deleted",
    )
    unrecorded = {p.entity for p in result.problems if "without an audit entry" in p.reason}
    assert unrecorded == {f"observation {i}" for i in record[:5]}


def test_raw_edit_of_an_audit_entry_is_detected(database, record):
    _raw(database, "UPDATE audit_log SET actor = 'someone' WHERE seq = 4")
    result = _verify(database)
    assert (result.first.seq, result.first.reason) == (4, "hash mismatch: the entry was altered")


def test_rehashed_audit_entry_breaks_the_next_link(database, record):
    with database.reading() as session:
        e = session.get(AuditEntry, 4)
        key = audit.current_keyring()  # even with the key, the next link breaks
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
            key_id=key.current,
            secret=key.secret,
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
    """Changing the canonical form would orphan every chain already stored: an entry's hash
    is HMAC-SHA256 over RFC 8785 JSON that any JCS implementation reproduces."""
    at = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    new = {"value": 38.0, "code": "8310-5", "é": None, "t": 1e-7}
    assert audit.canonical([1, new]) == '[1,{"code":"8310-5","t":1e-7,"value":38,"é":null}]'
    fields = [1, at.isoformat(), "ana", "create", "observation", 7, None, new, "0" * 64, "k1"]
    payload = rfc8785.dumps(fields)
    assert (
        payload
        == (
            '[1,"2025-03-01T08:00:00+00:00","ana","create","observation",7,null,'
            '{"code":"8310-5","t":1e-7,"value":38,"é":null},"' + "0" * 64 + '","k1"]'
        ).encode()
    )
    secret = b"s" * 32
    assert audit.entry_hash(
        1, at, "ana", "create", "observation", 7, None, new, audit.GENESIS,
        key_id="k1", secret=secret,
    ) == hmac.new(secret, payload, "sha256").hexdigest()  # fmt: skip
    # an entry from before keyed entries: plain SHA-256 over Python's JSON
    legacy = (
        '[1,"2025-03-01T08:00:00+00:00","ana","create","observation",7,null,'
        '{"code":"8310-5","t":1e-07,"value":38.0,"é":null},"' + "0" * 64 + '"]'
    )
    assert (
        audit.entry_hash(1, at, "ana", "create", "observation", 7, None, new, audit.GENESIS)
        == hashlib.sha256(legacy.encode()).hexdigest()
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
    assert result.entries == 2 + 4 * 5  # one entry per batch


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
        records.add(session, admin, MriScan, {"patient_id": p.id, "scan_date": T0.date(),
                    "region": "brain", "contrast_given": True, "pbvc_percent": -0.0})  # fmt: skip
        records.add(session, admin, NerveConductionStudy, {"patient_id": p.id,
                    "study_date": T0.date(), "nerves": [{"nerve": "ulnar", "side": "left",
                    "distal_latency_ms": 3.1}], "sensory_nerves": []})  # fmt: skip
        record_signature(session, admin, "approved", action="sign", entity_type="event",
                         entity_id=1, now=T0)  # fmt: skip
    with database.reading() as session:
        for model in audit.AUDITED.values():
            table = model.__table__
            rows = session.execute(select(table)).mappings().all()
            if not rows:  # the monitor's tables: covered by the tamper suite
                continue
            fast = audit.snapshot_texts(table, rows)
            assert fast == [audit.canonical(audit.snapshot_values(table, r)) for r in rows]


TRICKY_VALUES = [0.1, 1e-300, -0.0, 0.0, 1e16, 2.5e-7, 123456789.12345679, 1.7976931348623157e308]


def test_batch_text_is_the_canonical_json():
    rows = [(3, '{"a":"é"}'), (2**40, "{}")]
    digests = [(i, hashlib.sha256(t.encode()).hexdigest()) for i, t in rows]
    ids, hexes = [i for i, _ in digests], [audit.row_digest(t) for _, t in rows]
    canonical = audit.canonical([list(d) for d in digests])
    assert audit.digests_text(ids, hexes) == canonical
    assert audit.batch_rows(audit.digests_text(ids, hexes)) == digests
    assert audit.row_digest(rows[0][1]) == digests[0][1]
    assert audit.canonical([]) == audit.digests_text([], [])
    assert audit.digests_text(np.array(ids, dtype=np.int64), hexes) == canonical
    with pytest.raises(ValueError, match="shorter"):
        audit.digests_text(ids, hexes[:1])


def test_batch_renderer_is_the_canonical_json_for_tricky_values():
    """What a batch hashes per row equals canonical(snapshot) (what `verify` recomputes)."""
    table = Observation.__table__
    plus_two = timezone(timedelta(hours=2))
    fixed = {
        "patient_id": 2**40,
        "entered_by": 7,
        "recorded_at": datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=UTC),
        "supersedes_id": None,
        "correction_reason": None,
        "entered_in_error": False,
    }
    names = ("id", "code", "code_system", "value", "unit", "specimen", "effective_at", "source")
    render = audit.snapshot_renderer(table, names, fixed)
    times = [
        T0,
        datetime(2025, 3, 1, 10, 0, 0, 5, tzinfo=plus_two),
        datetime(1999, 12, 31, tzinfo=UTC),
    ]
    for i, value in enumerate(TRICKY_VALUES):
        row = (
            10**12 + i,
            'é\u2028"\\\n',
            "urn:ß",
            value,
            "×10⁹/L",
            [Specimen.BLOOD, "csf"][i % 2],
            times[i % 3],
            "µ𝔘 \x00",
        )
        expected = audit.canonical(
            audit.snapshot_values(table, dict(zip(names, row, strict=True)) | fixed)
        )
        assert render(row) == expected
        assert audit.snapshot_texts(table, [dict(zip(names, row, strict=True)) | fixed]) == [
            expected
        ]


def test_tricky_values_written_in_a_batch_verify_after_the_round_trip(database, admin):
    with database.transaction() as session:
        p = patient(session, admin)
        items = [
            repo.ObservationIn(p.id, "é-code", v, "×10⁹/L", T0, source="µ𝔘 src")
            for v in TRICKY_VALUES
        ]
        ids = repo.add_observations(session, admin, items)
    with database.reading() as session:
        assert audit.verify(session).ok, audit.verify(session).problems
        stored = [repo.get_observation(session, i).value for i in ids]
    assert stored == [v + 0.0 for v in TRICKY_VALUES]  # -0.0 is stored as 0.0


def test_column_texts_equal_the_renderer_for_tricky_values():
    """Column-by-column encoding (memoized strings, float/int reprs, pre-encoded times, nulls)
    gives the very text `snapshot_renderer` (and so `verify`) gives each row."""
    table = Observation.__table__
    fixed = {"patient_id": 2**40, "entered_by": 7, "recorded_at": T0, "entered_in_error": False}
    names = ("id", "code", "code_system", "value", "unit", "specimen", "effective_at", "source",
             "supersedes_id", "correction_reason")  # fmt: skip
    times = [T0, datetime(2025, 3, 1, 10, 0, 0, 5, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)]
    rows = [
        (
            10**12 + i,
            ['é\u2028"\\\n', "100%s", "%(x)s"][i % 3],
            "urn:ß",
            value,
            "×10⁹/L",
            [Specimen.BLOOD, "csf", "blood"][i % 3],
            times[i % 3],
            "µ𝔘 \x00",
            [None, 5][i % 2],
            [None, "typo %"][i % 2],
        )
        for i, value in enumerate(TRICKY_VALUES)
    ]
    render = audit.snapshot_renderer(table, names, fixed)
    expected = [render(r) for r in rows]
    columns = list(zip(*rows, strict=True))
    _check_column_texts(table, names, columns, fixed, expected)
    encoded = {"effective_at": [f'"{t.isoformat()}"' for t in columns[6]]}
    _check_column_texts(table, names, columns, fixed, expected, encoded)
    # mixed types and nulls take the value-by-value route, with the same result
    odd = [list(c) for c in columns]
    odd[3][0], odd[0][1], odd[1][2] = 3, True, None
    odd_rows = list(zip(*odd, strict=True))
    _check_column_texts(table, names, odd, fixed, [render(r) for r in odd_rows])
    infinite = [*columns[:3], [math.inf] * 8, *columns[4:]]
    for make in (audit.snapshot_column_texts, audit.snapshot_column_digests):
        with pytest.raises(ValueError, match="cannot be audited"):
            make(table, names, infinite)
        assert make(table, names, [[] for _ in names], fixed) == []


def _check_column_texts(table, names, columns, fixed, expected, encoded=None) -> None:
    """Texts and digests of the rows given column by column equal the renderer's texts."""
    assert audit.snapshot_column_texts(table, names, columns, fixed, encoded) == expected
    digests = audit.snapshot_column_digests(table, names, columns, fixed, encoded)
    assert digests == [audit.row_digest(t) for t in expected]


_SNAPSHOT_NAMES = ("id", "code", "value", "unit", "specimen", "effective_at", "source",
                   "supersedes_id", "entered_in_error")  # fmt: skip
_texts = st.text(st.characters(codec="utf-8"), max_size=6)
_snapshot_rows = st.tuples(
    st.integers(-(2**62), 2**62),
    _texts,
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["°C", "%", "100%s", "mg/L"]) | _texts,
    st.sampled_from([*Specimen, "csf"]),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3, minutes=-30))])),
    st.sampled_from(["lab", "lab"]) | _texts,
    st.none() | st.integers(1, 10**9),
    st.booleans(),
)


@given(st.lists(_snapshot_rows, min_size=1, max_size=12), st.booleans())
def test_column_texts_and_digests_equal_the_renderer_for_any_rows(rows, share) -> None:
    """Any values, column by column (constant or not), give the renderer's text and its digest."""
    table = Observation.__table__
    if share:  # every row with the first row's code, value and source: constant columns
        rows = [(r[0], rows[0][1], rows[0][2], *r[3:6], rows[0][6], *r[7:]) for r in rows]
    fixed = {"patient_id": 7, "recorded_at": T0, "correction_reason": None}
    render = audit.snapshot_renderer(table, _SNAPSHOT_NAMES, fixed)
    columns = list(zip(*rows, strict=True))
    _check_column_texts(table, _SNAPSHOT_NAMES, columns, fixed, [render(r) for r in rows])


def test_batch_times_in_any_zone_verify_and_read_back_in_utc(database, admin):
    zero, plus_two = timezone(timedelta(0)), timezone(timedelta(hours=2))
    times = [T0, T0.astimezone(zero), T0.astimezone(plus_two), T0 + timedelta(microseconds=7)]
    with database.transaction() as session:
        p = patient(session, admin)
        utc_only = [
            repo.ObservationIn(p.id, "8310-5", 37.0, "Cel", T0 + timedelta(seconds=i))
            for i in range(3)
        ]
        mixed = [repo.ObservationIn(p.id, "8310-5", 37.0, "Cel", t) for t in times]
        ids = repo.add_observations(session, admin, utc_only) + repo.add_observations(
            session, admin, mixed
        )
    with database.reading() as session:
        assert audit.verify(session).ok, audit.verify(session).problems
        stored = [repo.get_observation(session, i).effective_at for i in ids]
    assert stored == [T0 + timedelta(seconds=i) for i in range(3)] + times
    assert all(t.tzinfo is UTC for t in stored)


def test_a_transaction_reads_the_head_once_and_a_rolled_back_savepoint_forgets_it(database, admin):
    """Entries appended in one transaction chain to each other without reading the head
    again; a savepoint rolled back takes its entries with it, and the next entry chains to
    what is really the head."""
    with database.transaction() as session:
        p = patient(session, admin)
        savepoint = session.begin_nested()
        repo.add_observation(session, admin, temperatures(p.id, 1)[0])
        savepoint.rollback()
        repo.add_observation(session, admin, temperatures(p.id, 1, start=38.0)[0])
        heads = []
        for n in range(3):
            audit.append(
                session, actor="admin", action="note", entity_type="monitor", entity_id=n,
                old=None, new={"n": n},
            )  # fmt: skip
            heads.append(audit.head(session))
        fresh = session.connection().execute(audit._HEAD).first()
        assert heads[-1] == (fresh[0], fresh[1])
    result = _verify(database)
    assert result.ok, result.problems
    assert [h[0] for h in heads] == [heads[0][0], heads[0][0] + 1, heads[0][0] + 2]


def test_rows_recorded_from_their_attributes_match_the_rows_read_back(database, admin):
    """`append_rows` (no read back) records the digest `append_states` reads back."""
    from neurocart.store.interop import FeedMessage

    with database.transaction() as session:
        row = FeedMessage(
            system="hl7:HOSP_A", control_id="C-1", message_type="ORU^R01", status="refused",
            reason="ünïcode reason", ack_code="AE", ack="MSA|AE|C-1", message="MSH|^~\\&|x",
            received_at=datetime(2025, 6, 3, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8))),
        )  # fmt: skip
        session.add(row)
        session.flush()
        given = audit.append_rows(session, actor="feed", entity_type="feed_message", rows=[row])
        read = audit.append_states(session, actor="feed", written={"feed_message": [row.id]})
        new = dict(session.execute(select(AuditEntry.seq, AuditEntry.new)).all())
    assert new[given] == new[read]
    assert _verify(database).ok
