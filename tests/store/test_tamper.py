"""Tamper drills: every change made behind the application's back is found by `verify`.

One small world touches every audited table (the monitor's alerts, actions, grades and its
checkpoint included), is checkpointed to a file outside the database, and then each attack
changes the database (or the checkpoint file) with plain SQL, as someone with write access
but without the application would. Every attack must leave `verify` reporting a problem.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, delete, func, insert, select, text, update

from neurocart.interop.hl7.receiver import Receiver
from neurocart.services import alerts as alert_service
from neurocart.services import idempotency, ingest
from neurocart.services.ingest import NATURAL_SYSTEM
from neurocart.services.monitoring import MonitorService
from neurocart.store import Database, audit, records, repo
from neurocart.store.audit_keys import Keyring
from neurocart.store.checkpoints import read_checkpoints, write_checkpoint
from neurocart.store.models import (
    AUDITED,
    Alert,
    AlertAction,
    AuditEntry,
    FeedMessage,
    IdempotencyRecord,
    IngestKey,
    MriScan,
    NerveConductionStudy,
)
from tests.interop import hl7_messages as hm
from tests.store.factories import EASIX_INPUTS, patient

DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)


class World:
    """The database, its checkpoint file, and what the attacks aim at."""

    def __init__(self, database: Database, path: Path) -> None:
        self.db = database
        self.checkpoints = path
        self.keyring = audit.current_keyring()

    def verify(self) -> audit.Verification:
        with self.db.reading() as session:
            return audit.verify(session, checkpoint_path=self.checkpoints)

    def checkpoint(self) -> None:
        with self.db.reading() as session:
            write_checkpoint(session, self.checkpoints, self.keyring)

    def run(self, statement: Any) -> None:
        """One statement straight to the database: no service, no audit."""
        with self.db.engine.begin() as connection:
            connection.execute(statement)

    def one(self, statement: Any) -> Any:
        with self.db.engine.connect() as connection:
            return connection.execute(statement).first()


def _build(database: Database, tmp_path: Path) -> World:
    with database.transaction() as s:
        admin = repo.create_user(s, None, username="admin", password_hash="x", role="admin")
        doc = repo.create_user(s, None, username="doc", password_hash="y", role="neurologist")
        patients = []
        for n in (1, 2):
            p = patient(s, admin, f"NC-{n}")
            repo.create_course(s, admin, repo.CourseIn(p.id, "KYV-101", infusion_at=DAY0))
            patients.append(p)
        p1 = patients[0]
        from neurocart.services import assessments
        from neurocart.services.accounts import record_signature

        signed = assessments.add_assessment(
            s, admin, repo.AssessmentIn(p1.id, "easix", EASIX_INPUTS, DAY0)
        )
        record_signature(
            s, doc, "reviewed", action="sign", entity_type="assessment", entity_id=signed.id,
            now=DAY0,
        )  # fmt: skip
        repo.add_event(s, admin, repo.EventIn(p1.id, "infection", DAY0, grade=2, details={}))
        repo.set_task(
            s, doc, p1.id, protocol_id="x", task_id="vitals", slot_start=DAY0, state="due"
        )
        records.add(s, admin, MriScan, {"patient_id": p1.id, "scan_date": DAY0.date(),
                    "region": "brain", "contrast_given": True, "new_t2_lesions": 1})  # fmt: skip
        records.add(s, admin, NerveConductionStudy, {"patient_id": p1.id,
                    "study_date": DAY0.date(), "nerves": [{"nerve": "ulnar", "side": "left",
                    "distal_latency_ms": 3.1}], "sensory_nerves": []})  # fmt: skip
    monitor = MonitorService(database)
    monitor.take_over()
    for p in patients:  # fever in both: a CRS alert each, and current grades
        with database.transaction() as s:
            items = [
                repo.ObservationIn(p.id, "8310-5", 39.2 + h / 10, "°C", DAY0 + timedelta(hours=h))
                for h in range(1, 4)
            ]
            repo.add_observations(s, doc, items)
        while monitor.step():
            pass
    with database.transaction() as s:
        alert_service.acknowledge(s, doc, "NC-1:crs:1", DAY0 + timedelta(hours=5))
    while monitor.step():
        pass
    _feeds(database, doc, p1.id)  # after the monitor's steps: its alerts stay as they were
    _keyed_writes(database, doc.username, doc.id, p1.id)
    with database.transaction() as s:  # the newest entries: what a truncation removes
        repo.create_user(s, admin, username="spare", password_hash="z", role="nurse")
        patient(s, admin, "NC-3")
        repo.add_observation(
            s, doc, repo.ObservationIn(p1.id, "8310-5", 37.1, "°C", DAY0 + timedelta(hours=9))
        )
    world = World(database, tmp_path / "audit" / "chain.checkpoints.jsonl")
    world.checkpoint()
    return world


def _feeds(database: Database, feed: Any, patient_id: int) -> None:
    """What the hospital feeds leave: an accepted HL7 message and its result's key, a refused
    one kept for review and then accepted when resent fixed (its row overwritten), and the
    natural keys of a REST batch."""
    receiver = Receiver(database, feed, crosswalk={("HOSP_A", "H12345"): "NC-1"})
    assert hm.msa(receiver.handle(hm.oru("LIS-1")))[1] == "AA"
    assert hm.msa(receiver.handle(hm.oru("LIS-2", value="n/a", order="F2^LIS")))[1] == "AE"
    assert hm.msa(receiver.handle(hm.oru("LIS-2", value="12.5", order="F2^LIS")))[1] == "AA"
    assert hm.msa(receiver.handle(hm.oru("LIS-3", value="n/a", order="F3^LIS")))[1] == "AE"
    rows = [
        {
            "code": "8867-4",
            "value": 96 + n,
            "unit": "/min",
            "effective_at": DAY0 + timedelta(minutes=n),
            "source": "monitor",
        }
        for n in (1, 2)
    ]
    with database.transaction() as s:
        ingest.ingest_observation_batch(s, feed, patient_id, rows, skip_duplicates=True)


def _keyed_writes(database: Database, actor: str, user_id: int, patient_id: int) -> None:
    """Two API writes sent with an Idempotency-Key: each fact with its stored first answer."""
    for n in (1, 2):
        with database.transaction() as s:
            at = DAY0 + timedelta(hours=6 + n)
            made = repo.add_event(s, actor_user(s, actor), repo.EventIn(
                patient_id, "infection", at, grade=3, details={}))  # fmt: skip
            digest = idempotency.request_digest("POST", "/api/v1/patients/NC-1/events", b"%d" % n)
            answer = idempotency.StoredAnswer(201, json.dumps({"id": made.id}))
            idempotency.remember(s, actor, user_id, f"retry-{n}", digest, answer,
                                 ttl=timedelta(hours=24), now=at)  # fmt: skip


def actor_user(session: Any, username: str) -> Any:
    user = repo.get_user_by_username(session, username)
    assert user is not None
    return user


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    w = _build(database, tmp_path)
    result = w.verify()
    assert result.ok, result.problems  # untouched, everything verifies
    assert result.checkpoint == result.entries
    with database.reading() as s:  # the world has rows in every audited table
        for name, model in AUDITED.items():
            assert s.scalar(select(func.count()).select_from(model)), name
        assert s.scalar(select(Alert.acknowledged_by).where(Alert.key == "NC-1:crs:1")) == "doc"
        assert s.scalar(select(Alert.status).where(Alert.key == "NC-2:crs:1")) == "open"
    return w


# --- the attacks ----------------------------------------------------------------------------

UPDATES: dict[str, tuple[str, Any]] = {
    "user": ("username", "mallory"),
    "patient": ("site", "XXX"),
    "course": ("product", "another product"),
    "observation": ("value", 36.6),
    "assessment": ("label", "normal"),
    "event": ("grade", 1),
    "task": ("state", "done"),
    "mri_scan": ("new_t2_lesions", 0),
    "ncs_study": ("lab", "elsewhere"),
    "alert_row": ("severity", "info"),
    "alert_action": ("kind", "close"),
    "monitor_status": ("crs_grade", 0),
    "monitor_checkpoint": ("seq", 1),
    "signature": ("meaning", "approved"),
    "feed_message": ("message", "MSH|^~\\&|forged"),
    "ingest_key": ("root_id", 999_999),
    "idempotency_key": ("response", '{"id": 999999}'),
}
"""Per audited table: a column and the value an attacker writes into its newest row."""

_UNIQUE: dict[str, dict[str, Any]] = {
    "user": {"username": "ghost"},
    "patient": {"study_id": "NC-GHOST"},
    "alert_row": {"key": "NC-GHOST:crs:1"},
    "task": {"slot_start": DAY0 + timedelta(days=9)},
    "feed_message": {"control_id": "GHOST-1"},
    "ingest_key": {"key_hash": "0" * 64},
    "idempotency_key": {"key": "ghost-key"},
}
"""What an inserted copy changes besides its key so the database accepts it."""


def _table(name: str) -> Table:
    table = AUDITED[name].__table__
    assert isinstance(table, Table)
    return table


def _newest(world: World, name: str) -> Any:
    table = _table(name)
    pk = table.c[audit.primary_key(table)]
    return world.one(select(table).order_by(pk.desc()).limit(1))


def _update(name: str) -> Callable[[World], None]:
    def attack(world: World) -> None:
        table = _table(name)
        pk = table.c[audit.primary_key(table)]
        column, value = UPDATES[name]
        row = _newest(world, name)
        world.run(update(table).where(pk == row._mapping[pk.name]).values({column: value}))

    return attack


def _delete(name: str) -> Callable[[World], None]:
    def attack(world: World) -> None:
        table = _table(name)
        pk = table.c[audit.primary_key(table)]
        row = _newest(world, name)
        world.run(delete(table).where(pk == row._mapping[pk.name]))

    return attack


def _insert(name: str) -> Callable[[World], None]:
    def attack(world: World) -> None:
        table = _table(name)
        pk = audit.primary_key(table)
        values = dict(_newest(world, name)._mapping)
        if name == "monitor_status":  # keyed by patient: one that has no grades yet
            values[pk] = world.one(select(func.max(_table("patient").c.id)))[0]
        else:
            values[pk] = values[pk] + 100
        values.update(_UNIQUE.get(name, {}))
        if "supersedes_id" in values:
            values["supersedes_id"] = None
        world.run(insert(table).values(values))

    return attack


def _entry(world: World, **where: Any) -> Any:
    query = select(AuditEntry).filter_by(**where).order_by(AuditEntry.seq.desc()).limit(1)
    with world.db.reading() as s:
        return s.scalar(query)


def _alert(world: World, **values: Any) -> None:
    world.run(update(Alert).where(Alert.key == "NC-2:crs:1").values(**values))


def lowered_alert_grade(world: World) -> None:
    _alert(world, grade=0.0)


def closed_open_alert(world: World) -> None:
    _alert(world, status="closed", closed_at=DAY0 + timedelta(hours=6))


def forged_acknowledgement(world: World) -> None:
    _alert(world, acknowledged_by="doc", acknowledged_at=DAY0 + timedelta(hours=4))


def reattributed_acknowledgement_row(world: World) -> None:
    world.run(update(Alert).where(Alert.key == "NC-1:crs:1").values(acknowledged_by="admin"))


def reattributed_acknowledgement_entry(world: World) -> None:
    seq = _entry(world, action="acknowledge").seq
    world.run(update(AuditEntry).where(AuditEntry.seq == seq).values(actor="admin"))


def reattributed_acknowledgement_action(world: World) -> None:
    table = _table("alert_action")
    row = world.one(select(table).where(table.c.kind == "acknowledge"))
    payload = {**row.payload, "user": "admin"}
    world.run(update(AlertAction).where(AlertAction.id == row.id).values(payload=payload))


def reattributed_creator_of_a_fact(world: World) -> None:
    world.run(update(_table("observation")).where(_table("observation").c.id == 1)
              .values(entered_by=1))  # fmt: skip


def deleted_alert_action(world: World) -> None:
    table = _table("alert_action")
    first = world.one(select(func.min(table.c.id)))[0]
    world.run(delete(table).where(table.c.id == first))


def _message(world: World, control_id: str) -> Any:
    return world.one(select(FeedMessage).where(FeedMessage.control_id == control_id))


def refusal_turned_into_acceptance(world: World) -> None:
    """The refused message made to look accepted: the sender is never asked to resend."""
    row = _message(world, "LIS-3")
    world.run(update(FeedMessage).where(FeedMessage.id == row.id)
              .values(status="accepted", ack_code="AA", reason=None))  # fmt: skip


def deleted_feed_message(world: World) -> None:
    """The accepted message removed: a resend of it would be stored as new."""
    world.run(delete(FeedMessage).where(FeedMessage.id == _message(world, "LIS-1").id))


def backdated_feed_message(world: World) -> None:
    row = _message(world, "LIS-1")
    earlier = row.received_at - timedelta(days=1)
    world.run(update(FeedMessage).where(FeedMessage.id == row.id).values(received_at=earlier))


def _key(world: World, system: str) -> Any:
    query = select(IngestKey).where(IngestKey.system == system).order_by(IngestKey.id)
    return world.one(query.limit(1))


def removed_hl7_key(world: World) -> None:
    """The result's key removed: the sender's next resend stores the result twice."""
    world.run(delete(IngestKey).where(IngestKey.id == _key(world, "hl7:HOSP_A").id))


def removed_natural_key(world: World) -> None:
    """A REST observation's natural key removed: a retry of the batch stores it twice."""
    world.run(delete(IngestKey).where(IngestKey.id == _key(world, NATURAL_SYSTEM).id))


def repointed_key(world: World) -> None:
    """A key pointed at another observation: a correction from the sender would amend it."""
    row = _key(world, "hl7:HOSP_A")
    world.run(update(IngestKey).where(IngestKey.id == row.id).values(root_id=row.root_id + 1))


def _record(world: World, key: str) -> Any:
    return world.one(select(IdempotencyRecord).where(IdempotencyRecord.key == key))


def removed_older_idempotency_record(world: World) -> None:
    """The first keyed write's stored answer removed: its retry is stored a second time."""
    world.run(delete(IdempotencyRecord).where(IdempotencyRecord.id == _record(world, "retry-1").id))


def rewritten_idempotency_answer(world: World) -> None:
    """The stored answer made to name another row: the client's retry is told a falsehood."""
    row = _record(world, "retry-1")
    world.run(update(IdempotencyRecord).where(IdempotencyRecord.id == row.id)
              .values(response='{"id": 1}', status_code=200))  # fmt: skip


def extended_idempotency_record(world: World) -> None:
    """A record kept past its expiry: a later request reusing the key is refused or replayed."""
    row = _record(world, "retry-2")
    world.run(update(IdempotencyRecord).where(IdempotencyRecord.id == row.id)
              .values(expires_at=row.expires_at + timedelta(days=365)))  # fmt: skip


def reordered_entries(world: World) -> None:
    a, b = 5, 6
    world.run(update(AuditEntry).where(AuditEntry.seq == a).values(seq=-1))
    world.run(update(AuditEntry).where(AuditEntry.seq == b).values(seq=a))
    world.run(update(AuditEntry).where(AuditEntry.seq == -1).values(seq=b))


def _rewrite_chain(world: World, sign: Callable[[Any, str], tuple[str, str | None]]) -> None:
    """Change the first observation's value, fix its batch digest, and recompute every hash
    from there on with `sign(entry, prev_hash) -> (hash, key_id)`."""
    table = _table("observation")
    world.run(update(table).where(table.c.id == 1).values(value=36.5))
    row = world.one(select(table).where(table.c.id == 1))
    digest = audit.row_digest(audit.snapshot_texts(table, [row._mapping])[0])
    batch = _entry(world, entity_type="observation", action=audit.BATCH_ACTION, entity_id=1)
    pairs = [[i, digest if i == 1 else d] for i, d in audit.batch_rows(batch.new)]
    world.run(
        update(AuditEntry).where(AuditEntry.seq == batch.seq).values(new=audit.canonical(pairs))
    )
    with world.db.reading() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.seq >= batch.seq)
                                 .order_by(AuditEntry.seq)))  # fmt: skip
        prev = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == batch.seq - 1))
    for e in entries:
        digest, key_id = sign(e, prev)
        world.run(update(AuditEntry).where(AuditEntry.seq == e.seq)
                  .values(prev_hash=prev, hash=digest, key_id=key_id))  # fmt: skip
        prev = digest


def _hash(e: Any, prev: str, key_id: str | None, secret: bytes | None) -> str:
    return audit.entry_hash(
        e.seq, e.at, e.actor, e.action, e.entity_type, e.entity_id, e.old_values,
        e.new_values, prev, key_id=key_id, secret=secret,
    )  # fmt: skip


def recomputed_chain_plain_sha256(world: World) -> None:
    """The chain as it used to be hashed: plain SHA-256, no key."""
    _rewrite_chain(world, lambda e, prev: (_hash(e, prev, None, None), None))


def recomputed_chain_guessed_key(world: World) -> None:
    _rewrite_chain(world, lambda e, prev: (_hash(e, prev, e.key_id, b"g" * 32), e.key_id))


def recomputed_chain_with_the_key(world: World) -> None:
    """An insider holding the key: only the checkpoint outside the database tells."""
    key = world.keyring
    _rewrite_chain(world, lambda e, prev: (_hash(e, prev, key.current, key.secret), key.current))


def truncated_tail_with_rows(world: World) -> None:
    """The newest transaction (a user, a patient, an observation) removed with its entries:
    a consistent but shorter chain."""
    with world.db.reading() as s:
        top = s.scalar(select(func.max(AuditEntry.seq)))
    world.run(delete(_table("observation")).where(_table("observation").c.id == _newest(
        world, "observation").id))  # fmt: skip
    world.run(delete(_table("patient")).where(_table("patient").c.study_id == "NC-3"))
    world.run(delete(_table("user")).where(_table("user").c.username == "spare"))
    world.run(delete(AuditEntry).where(AuditEntry.seq > top - 3))


def forged_appended_entry(world: World) -> None:
    """A new observation row and an entry chained to the head, hashed without the key."""
    obs = _table("observation")
    values = dict(_newest(world, "observation")._mapping) | {"value": 41.5}
    values["id"] += 1
    world.run(insert(obs).values(values))
    with world.db.reading() as s:
        seq, prev = audit.head(s)
    text = audit.snapshot_texts(obs, [values])[0]
    e = AuditEntry(
        seq=seq + 1, at=datetime.now(UTC), actor="doc", action="create",
        entity_type="observation", entity_id=values["id"], old=None, new=text,
    )  # fmt: skip
    digest = _hash(e, prev, world.keyring.current, b"f" * 32)
    world.run(insert(AuditEntry).values(
        seq=e.seq, at=e.at, actor=e.actor, action=e.action, entity_type=e.entity_type,
        entity_id=e.entity_id, old=None, new=text, prev_hash=prev, hash=digest,
        key_id=world.keyring.current,
    ))  # fmt: skip


def forged_unkeyed_entry(world: World) -> None:
    with world.db.reading() as s:
        seq, prev = audit.head(s)
    e = AuditEntry(seq=seq + 1, at=datetime.now(UTC), actor="admin", action="update",
                   entity_type="monitor", entity_id=0, old=None, new="{}")  # fmt: skip
    world.run(insert(AuditEntry).values(
        seq=e.seq, at=e.at, actor=e.actor, action=e.action, entity_type=e.entity_type,
        entity_id=0, old=None, new="{}", prev_hash=prev, hash=_hash(e, prev, None, None),
        key_id=None,
    ))  # fmt: skip


def entry_claims_an_unknown_key(world: World) -> None:
    world.run(update(AuditEntry).where(AuditEntry.seq == 3).values(key_id="nobody"))


def edited_checkpoint_file(world: World) -> None:
    path = world.checkpoints
    record = json.loads(path.read_text())
    record["seq"] -= 3  # to hide a truncation
    path.write_text(audit.canonical(record) + "\n")


def removed_checkpoint_line(world: World) -> None:
    """An older checkpoint line removed from between two others."""
    world.checkpoint()
    world.checkpoint()
    lines = world.checkpoints.read_text().splitlines()
    world.checkpoints.write_text("\n".join([lines[0], lines[2]]) + "\n")


def rewritten_checkpoint_file(world: World) -> None:
    """A whole new checkpoint file for a truncated chain, signed without the key."""
    truncated_tail_with_rows(world)
    with world.db.reading() as s:
        seq, _ = audit.head(s)
    forged = Keyring({world.keyring.current: b"h" * 32}, world.keyring.current)
    world.checkpoints.unlink()
    with world.db.reading() as s:
        write_checkpoint(s, world.checkpoints, forged)
    assert read_checkpoints(world.checkpoints, forged)[0][0].seq == seq


ATTACKS: dict[str, Callable[[World], None]] = {
    **{f"update {name}": _update(name) for name in AUDITED},
    **{f"delete {name}": _delete(name) for name in AUDITED},
    **{f"insert {name}": _insert(name) for name in AUDITED},
    "lowered alert grade": lowered_alert_grade,
    "closed open alert": closed_open_alert,
    "forged acknowledgement": forged_acknowledgement,
    "re-attributed acknowledgement (alert row)": reattributed_acknowledgement_row,
    "re-attributed acknowledgement (audit entry)": reattributed_acknowledgement_entry,
    "re-attributed acknowledgement (alert action)": reattributed_acknowledgement_action,
    "re-attributed fact": reattributed_creator_of_a_fact,
    "deleted alert action": deleted_alert_action,
    "refusal turned into acceptance": refusal_turned_into_acceptance,
    "deleted feed message": deleted_feed_message,
    "back-dated feed message": backdated_feed_message,
    "removed HL7 ingest key": removed_hl7_key,
    "removed natural key": removed_natural_key,
    "re-pointed ingest key": repointed_key,
    "removed older idempotency record": removed_older_idempotency_record,
    "rewritten idempotency answer": rewritten_idempotency_answer,
    "extended idempotency record": extended_idempotency_record,
    "reordered entries": reordered_entries,
    "recomputed chain, plain SHA-256": recomputed_chain_plain_sha256,
    "recomputed chain, guessed key": recomputed_chain_guessed_key,
    "recomputed chain with the key": recomputed_chain_with_the_key,
    "truncated tail with its rows": truncated_tail_with_rows,
    "forged appended entry": forged_appended_entry,
    "forged unkeyed entry": forged_unkeyed_entry,
    "entry claims an unknown key": entry_claims_an_unknown_key,
    "edited checkpoint file": edited_checkpoint_file,
    "removed checkpoint line": removed_checkpoint_line,
    "rewritten checkpoint file": rewritten_checkpoint_file,
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_is_detected(world: World, attack: str) -> None:
    ATTACKS[attack](world)
    result = world.verify()
    assert not result.ok, f"{attack}: not detected"


PG_ATTACKS = [
    "update alert_row",
    "delete alert_action",
    "insert observation",
    "recomputed chain with the key",
    "truncated tail with its rows",
    "re-attributed acknowledgement (audit entry)",
    *(
        f"{attack} {table}"
        for table in ("feed_message", "ingest_key", "idempotency_key")
        for attack in ("update", "delete", "insert")
    ),
    "refusal turned into acceptance",
    "removed natural key",
    "removed older idempotency record",
]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("attack", PG_ATTACKS)
def test_attack_is_detected_on_postgresql(world: World, attack: str) -> None:
    ATTACKS[attack](world)
    assert not world.verify().ok, f"{attack}: not detected"


def test_the_drills_are_many_and_each_finds_what_it_should(world: World) -> None:
    """The count the docs quote, and the reasons of the attacks only a checkpoint sees."""
    assert len(ATTACKS) >= 30
    truncated_tail_with_rows(world)
    reasons = [p.reason for p in world.verify().problems]
    assert any("truncated" in r for r in reasons), reasons


def test_rewrite_with_the_key_is_found_only_by_the_checkpoint(world: World) -> None:
    recomputed_chain_with_the_key(world)
    with world.db.reading() as s:
        inside = audit.verify(s)  # no checkpoint: consistent in itself
    assert inside.ok
    problems = world.verify().problems
    assert problems
    assert all("rewritten" in p.reason for p in problems), problems


def test_a_monitor_step_is_one_entry_per_table_it_wrote(world: World) -> None:
    """Per step and table one entry of the rows it wrote and one of those it created."""
    monitor_tables = ["alert_row", "alert_action", "monitor_status", "monitor_checkpoint"]
    with world.db.reading() as s:
        entries = s.execute(
            select(AuditEntry.at, AuditEntry.entity_type, AuditEntry.action).where(
                AuditEntry.entity_type.in_(monitor_tables)
            )
        ).all()
    assert len(entries) == len(set(entries))
    kinds = {(e.entity_type, e.action) for e in entries}
    assert {(t, audit.STATE_ACTION) for t in monitor_tables} - kinds == {
        ("alert_action", audit.STATE_ACTION)  # append-only: only ever created
    }
    assert {(t, audit.BATCH_ACTION) for t in monitor_tables} - kinds == {
        ("monitor_status", audit.BATCH_ACTION)  # upserted by patient: always "written"
    }


def test_checkpoint_lines_are_chained_and_signed(world: World) -> None:
    world.checkpoint()
    found, problems = read_checkpoints(world.checkpoints, world.keyring)
    assert problems == []
    assert len(found) == 2
    first = world.checkpoints.read_text().splitlines()[0]
    assert found[1].prev == hashlib.sha256(first.encode()).hexdigest()
    other = Keyring({world.keyring.current: b"o" * 32}, world.keyring.current)
    assert len(read_checkpoints(world.checkpoints, other)[1]) == 2  # no key, no trust


def test_a_removed_key_lets_a_resend_store_twice_and_verify_names_the_key(world: World) -> None:
    """Why the keys are audited: without its key, the sender's resend (a new control id, the
    same result) is stored as a second fact, and the missing key is what `verify` reports."""
    removed_hl7_key(world)
    with world.db.reading() as s:
        doc = repo.get_user_by_username(s, "doc")
        before = s.scalar(select(func.count()).select_from(_table("observation")))
    receiver = Receiver(world.db, doc, crosswalk={("HOSP_A", "H12345"): "NC-1"})
    assert hm.msa(receiver.handle(hm.oru("LIS-1-RESENT")))[1] == "AA"
    with world.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(_table("observation"))) == before + 1
    problems = [str(p) for p in world.verify().problems]
    assert any("ingest_key" in p and "missing" in p for p in problems), problems


def test_feed_writes_are_batched_per_insert(world: World) -> None:
    """A message's keys are one `create_batch` entry, its row one `create_batch` entry (one
    `write_batch` entry when it overwrites a refusal); a REST batch's natural keys one entry
    whatever the rows."""
    with world.db.reading() as s:
        entries = s.execute(
            select(AuditEntry.entity_type, AuditEntry.action, AuditEntry.new)
            .where(AuditEntry.entity_type.in_(["ingest_key", "feed_message"]))
            .order_by(AuditEntry.seq)
        ).all()
    keys = [e for e in entries if e.entity_type == "ingest_key"]
    assert {e.action for e in keys} == {audit.BATCH_ACTION}
    assert sorted(len(audit.batch_rows(e.new)) for e in keys) == [1, 1, 2]  # LIS-1, LIS-2, REST
    messages = [e.action for e in entries if e.entity_type == "feed_message"]
    # LIS-1, LIS-2 refused, then overwritten, LIS-3
    created, written = audit.BATCH_ACTION, audit.STATE_ACTION
    assert messages == [created, created, written, created]


# --- an id drawn again ----------------------------------------------------------------------
# SQLite gives a new row the highest id plus one, so the id of the newest row, deleted with
# plain SQL, goes to the next row the application writes; that row's entry would cover the
# id, and the deletion would be hidden, were a second creation of an id not a finding.


def _doc(world: World) -> Any:
    with world.db.reading() as s:
        return actor_user(s, "doc")


def _new_observations(world: World) -> None:
    """A batch of observations: one `create_batch` entry."""
    with world.db.transaction() as s:
        item = repo.ObservationIn(1, "8310-5", 37.4, "°C", DAY0 + timedelta(hours=10))
        repo.add_observations(s, actor_user(s, "doc"), [item])


def _corrected_observation(world: World) -> None:
    """A correction: the corrected copy is a new row (a one-row `correct` entry)."""
    with world.db.transaction() as s:
        repo.correct_observation(s, actor_user(s, "doc"), 1, reason="typo", value=39.0)


def _monitor_steps(world: World) -> None:
    monitor = MonitorService(world.db)
    monitor.take_over()
    while monitor.step():
        pass


def _acknowledged_alert(world: World) -> None:
    """The second alert acknowledged: the monitor stores an alert action (`create_batch`)."""
    with world.db.transaction() as s:
        alert_service.acknowledge(s, actor_user(s, "doc"), "NC-2:crs:1", DAY0 + timedelta(hours=6))
    _monitor_steps(world)


def _new_alert(world: World) -> None:
    """A third patient's fever: the monitor opens an alert (a new alert row)."""
    with world.db.transaction() as s:
        doc = actor_user(s, "doc")
        p3 = repo.find_patient(s, "NC-3")
        repo.create_course(s, doc, repo.CourseIn(p3.id, "KYV-101", infusion_at=DAY0))
        items = [
            repo.ObservationIn(p3.id, "8310-5", 39.5, "°C", DAY0 + timedelta(hours=h))
            for h in (1, 2, 3)
        ]
        repo.add_observations(s, doc, items)
    _monitor_steps(world)


def _new_message(world: World) -> None:
    """A new HL7 result: a new message row and a new key."""
    receiver = Receiver(world.db, _doc(world), crosswalk={("HOSP_A", "H12345"): "NC-1"})
    assert hm.msa(receiver.handle(hm.oru("LIS-4", value="14.5", order="F4^LIS")))[1] == "AA"


def _new_keyed_write(world: World) -> None:
    """A third keyed API write: a new idempotency record."""
    doc = _doc(world)
    _keyed_write(world, doc.username, doc.id, "retry-3", DAY0 + timedelta(hours=9))


def _keyed_write(world: World, actor: str, user_id: int, key: str, at: datetime,
                 ttl: timedelta = timedelta(hours=24)) -> None:  # fmt: skip
    with world.db.transaction() as s:
        digest = idempotency.request_digest("POST", "/api/v1/patients/NC-1/events", key.encode())
        idempotency.find(s, actor, user_id, key, digest, now=at)  # purges the expired ones
        answer = idempotency.StoredAnswer(201, json.dumps({"id": 1}))
        idempotency.remember(s, actor, user_id, key, digest, answer, ttl=ttl, now=at)


REUSES: dict[str, tuple[str, Callable[[World], None]]] = {
    "observation batch": ("observation", _new_observations),
    "observation correction": ("observation", _corrected_observation),
    "alert action": ("alert_action", _acknowledged_alert),
    "alert": ("alert_row", _new_alert),
    "feed message": ("feed_message", _new_message),
    "ingest key": ("ingest_key", _new_message),
    "idempotency record": ("idempotency_key", _new_keyed_write),
    "monitor checkpoint": ("monitor_checkpoint", lambda w: MonitorService(w.db).take_over()),
}
"""The newest row of a table deleted behind the application's back, then the write of the
application that creates the next row of it."""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", list(REUSES))
def test_a_deleted_row_whose_id_is_drawn_again_is_found(world: World, case: str) -> None:
    name, write = REUSES[case]
    table = _table(name)
    pk = table.c[audit.primary_key(table)]
    gone = _newest(world, name)._mapping[pk.name]
    world.run(delete(table).where(pk == gone))
    write(world)
    assert world.one(select(pk).where(pk == gone)) is not None, "the id was not drawn again"
    problems = [str(p) for p in world.verify().problems]
    assert any(f"({name} {gone})" in p and "creates the id again" in p for p in problems), problems


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("case", ["observation batch", "alert action", "idempotency record"])
def test_a_sequence_set_back_to_draw_an_id_again_is_found(world: World, case: str) -> None:
    """PostgreSQL hands an id out once, unless someone with write access sets the sequence
    back after the deletion."""
    name, write = REUSES[case]
    table = _table(name)
    gone = _newest(world, name).id
    world.run(delete(table).where(table.c.id == gone))
    world.run(
        text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n)").bindparams(
            t=table.name, n=gone - 1
        )
    )
    write(world)
    problems = [str(p) for p in world.verify().problems]
    assert any(f"({name} {gone})" in p and "creates the id again" in p for p in problems), problems


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_id_drawn_again_after_a_recorded_deletion_is_no_finding(world: World) -> None:
    """The application's own deletion (a purge of expired idempotency records) is in the
    chain, so the next record taking the purged id is legitimate."""
    doc, at = _doc(world), DAY0 + timedelta(hours=9)
    _keyed_write(world, doc.username, doc.id, "short", at, ttl=timedelta(minutes=1))
    short = _record(world, "short").id
    _keyed_write(world, doc.username, doc.id, "later", at + timedelta(minutes=2))
    assert _record(world, "short") is None  # purged
    assert _record(world, "later").id == short  # and its id drawn again
    result = world.verify()
    assert result.ok, result.problems
