"""The hash-chained audit log: every write appends who, when, what, old → new.

Entry n's hash is SHA-256 over the canonical JSON of
`[seq, at, actor, action, entity_type, entity_id, old, new, prev_hash]`, and its `prev_hash`
is entry n-1's hash (the first entry chains to 64 zeros). `old` and `new` are snapshots of the
audited row (every column, normalized by its type), stored as the very canonical JSON text
that is hashed. So `verify` can tell

- an edited audit entry (its hash no longer matches its content),
- a deleted or inserted entry (a gap in seq, or a broken prev link),
- a clinical row changed or deleted behind the application's back (the row no longer matches
  the `new` snapshot of its latest entry, or is gone), or written without an entry.

A rewrite of the whole chain from some point on, or the removal of its newest entries
together with their rows, cannot be seen from inside the database: note the head hash that
`neurocart audit verify` prints somewhere else to anchor it.

Writers are serialized so two transactions can never append the same seq: SQLite
transactions begin IMMEDIATE (neurocart.store.engine); on PostgreSQL `lock_chain` takes a
transaction-scoped advisory lock.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from json.encoder import encode_basestring
from typing import Any, cast

from sqlalchemy import Boolean, Date, Float, Integer, String, Table, select, text
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON, TypeEngine
from sqlalchemy.types import Enum as SAEnum

from neurocart.store.bulk import insert_rows
from neurocart.store.engine import _BEGIN_OPTION
from neurocart.store.models import AUDITED, AuditEntry, Base
from neurocart.store.types import UTCDateTime, utcnow

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = 0x6E63_6175_6474  # "ncaudt": one lock for the one chain
MAX_PROBLEMS = 1000
_LOCKED = "neurocart.audit.locked_transaction"
_AUDIT_TABLE = cast(Table, AuditEntry.__table__)

Snapshot = dict[str, Any]
Change = tuple[int, Snapshot | None, Snapshot | None]
"""(entity_id, old, new) of one audited write."""

_SECRET_COLUMNS = {("users", "password_hash")}
"""Columns recorded only as a SHA-256 digest (a swapped password hash is still detected)."""


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical(value: Any) -> str:
    """The one JSON serialization that is hashed: sorted keys, no spaces, no NaN."""
    return _ENCODER.encode(value)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _text(snap: Snapshot | None) -> str | None:
    return None if snap is None else canonical(snap)


class _Hasher:
    """Hashes entries sharing (at, actor, action, entity_type) fast: one f-string each.

    The payload it builds is exactly `canonical([...])` of the entry's fields (a test holds
    it to that), with `old` and `new` already in canonical text.
    """

    def __init__(self, at: datetime, actor: str, action: str, entity_type: str) -> None:
        fixed = canonical([_timestamp(at), actor, action, entity_type])
        self._fixed = fixed[1:-1]

    def __call__(
        self, seq: int, entity_id: int, old: str | None, new: str | None, prev_hash: str
    ) -> str:
        payload = (
            f"[{int(seq)},{self._fixed},{int(entity_id)},{old or 'null'},{new or 'null'},"
            f"{canonical(prev_hash)}]"
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: int,
    old: Snapshot | None,
    new: Snapshot | None,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of an entry's canonical serialization."""
    hasher = _Hasher(at, actor, action, entity_type)
    return hasher(seq, entity_id, _text(old), _text(new), prev_hash)


# --- snapshots ----------------------------------------------------------------------------


Normalizer = Callable[[Any], Any] | None
"""Turns a column value into its JSON form; None when the value is already JSON (str, JSON)."""


def _enum_value(value: Any) -> str:
    return value.value if isinstance(value, Enum) else str(value)


def _normalizer(type_: TypeEngine[Any]) -> Normalizer:
    if isinstance(type_, UTCDateTime):
        return _timestamp
    if isinstance(type_, SAEnum):
        return _enum_value
    if isinstance(type_, Date):
        return date.isoformat
    if isinstance(type_, Float):
        return float
    if isinstance(type_, Boolean):
        return bool
    if isinstance(type_, Integer):
        return int
    if isinstance(type_, JSON | String):
        return None
    raise TypeError(f"no audit snapshot form for column type {type_!r}")


def _digest_text(value: Any) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


@cache
def _columns(table: Table) -> tuple[tuple[str, str, Normalizer], ...]:
    """(column name, snapshot key, normalizer) for every column of `table`."""
    out: list[tuple[str, str, Normalizer]] = []
    for column in table.columns:
        if (table.name, column.name) in _SECRET_COLUMNS:
            out.append((column.name, f"{column.name}_sha256", _digest_text))
        else:
            out.append((column.name, column.name, _normalizer(column.type)))
    return tuple(out)


def snapshot_values(table: Table, values: Mapping[Any, Any]) -> Snapshot:
    """The audit snapshot of a row given as column name → value."""
    return snapshot_rows(table, [values])[0]


def snapshot_rows(table: Table, rows: Iterable[Mapping[Any, Any]]) -> list[Snapshot]:
    """Snapshots of many rows; a value shared by consecutive rows is normalized once."""
    columns = _columns(table)
    memo: list[tuple[Any, Any]] = [(None, None)] * len(columns)
    out = []
    for row in rows:
        snap: Snapshot = {}
        for i, (name, key, normalize) in enumerate(columns):
            value = row.get(name)
            if value is None or normalize is None:
                snap[key] = value
            elif value is memo[i][0]:
                snap[key] = memo[i][1]
            else:
                snap[key] = normalized = normalize(value)
                memo[i] = (value, normalized)
        out.append(snap)
    return out


def snapshot(row: Base) -> Snapshot:
    """The audit snapshot of a flushed ORM row (its id must be assigned)."""
    table = row.__table__
    assert isinstance(table, Table)
    return snapshot_values(table, {c.name: getattr(row, c.key) for c in table.columns})


# Fast path: the canonical text of a snapshot, written directly (batches and `verify` call it
# for every row). It must equal canonical(snapshot_values(...)); a test holds it to that.

Encoder = Callable[[Any], str]


def _finite_float(value: Any) -> str:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"out of range float value {number!r} cannot be audited")
    return repr(number)


def _encoder(normalize: Normalizer, type_: TypeEngine[Any]) -> Encoder:
    if isinstance(type_, Float):
        return _finite_float
    if isinstance(type_, Boolean):
        return lambda v: "true" if v else "false"
    if isinstance(type_, Integer):
        return lambda v: str(int(v))
    if normalize is not None:
        return lambda v: encode_basestring(normalize(v))
    if isinstance(type_, JSON):
        return canonical
    return encode_basestring


@cache
def _text_columns(table: Table) -> tuple[tuple[str, str, Encoder], ...]:
    """(column name, '"key":', encoder) in the canonical (sorted-key) order."""
    types = {c.name: c.type for c in table.columns}
    out = []
    for name, key, normalize in sorted(_columns(table), key=lambda c: c[1]):
        encode = _encoder(normalize, types[name])
        if normalize is _digest_text:
            encode = lambda v: encode_basestring(_digest_text(v))  # noqa: E731
        out.append((name, encode_basestring(key) + ":", encode))
    return tuple(out)


def snapshot_texts(table: Table, rows: Iterable[Mapping[Any, Any]]) -> list[str]:
    """canonical(snapshot) of many rows; a value shared by consecutive rows is encoded once."""
    columns = _text_columns(table)
    memo: list[tuple[Any, str]] = [(None, "null")] * len(columns)
    out = []
    for row in rows:
        parts = []
        for i, (name, key, encode) in enumerate(columns):
            value = row.get(name)
            if value is None:
                parts.append(key + "null")
            elif value is memo[i][0]:
                parts.append(memo[i][1])
            else:
                part = key + encode(value)
                memo[i] = (value, part)
                parts.append(part)
        out.append("{" + ",".join(parts) + "}")
    return out


# --- appending ----------------------------------------------------------------------------


def lock_chain(session: Session) -> None:
    """Make this transaction the chain's only writer until it ends.

    Call it before reading anything a write depends on (repo does, first thing).
    """
    connection = session.connection()
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_LOCKED) is transaction:
        return  # already held by this transaction
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif connection.get_execution_options().get(_BEGIN_OPTION) == "DEFERRED":
        raise RuntimeError("write attempted in a read-only session (Database.reading)")
    session.info[_LOCKED] = transaction


def head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest entry, or (0, GENESIS) for an empty log."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS) if row is None else (row[0], row[1])


def append_many(
    session: Session, *, actor: str, action: str, entity_type: str, changes: Iterable[Change]
) -> int:
    """Append one entry per change, in the caller's transaction; returns the last seq."""
    texts = ((entity_id, _text(old), _text(new)) for entity_id, old, new in changes)
    return append_texts(session, actor=actor, action=action, entity_type=entity_type, changes=texts)


def append_texts(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    changes: Iterable[tuple[int, str | None, str | None]],
) -> int:
    """`append_many` with snapshots already in canonical text (see `snapshot_texts`)."""
    lock_chain(session)
    seq, prev = head(session)
    at = utcnow()
    hasher = _Hasher(at, actor, action, entity_type)
    rows = []
    for entity_id, old_text, new_text in changes:
        seq += 1
        digest = hasher(seq, entity_id, old_text, new_text, prev)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "old": old_text,
                "new": new_text,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if rows:
        insert_rows(session, _AUDIT_TABLE, rows)
    return seq


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: int,
    old: Snapshot | None,
    new: Snapshot | None,
) -> int:
    """Append one entry; returns its seq."""
    return append_many(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        changes=[(entity_id, old, new)],
    )


# --- verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """One thing found wrong: the audit entry at fault (if any), the row, and why."""

    seq: int | None
    reason: str
    entity: str | None = None

    def __str__(self) -> str:
        where = f"entry seq {self.seq}" if self.seq is not None else "no audit entry"
        what = f" ({self.entity})" if self.entity else ""
        return f"{where}{what}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    """The outcome of `verify`: how many entries, the head hash, and what is broken."""

    entries: int
    head_hash: str
    problems: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Break | None:
        return self.problems[0] if self.problems else None


def verify(session: Session) -> Verification:
    """Walk the chain, then check every audited row against its latest entry."""
    problems: list[Break] = []
    expected: Expected = {}
    count, prev_seq, prev_hash = 0, 0, GENESIS
    entries = session.execute(
        select(_AUDIT_TABLE).order_by(AuditEntry.seq).execution_options(yield_per=5000)
    )
    for e in entries.mappings():
        count += 1
        seq = e["seq"]
        hasher = _Hasher(e["at"], e["actor"], e["action"], e["entity_type"])
        recomputed = hasher(seq, e["entity_id"], e["old"], e["new"], e["prev_hash"])
        if seq != prev_seq + 1:
            missing = f"{prev_seq + 1}" if seq == prev_seq + 2 else f"{prev_seq + 1}–{seq - 1}"
            problems.append(Break(seq, f"gap in seq: entry {missing} deleted"))
        elif e["prev_hash"] != prev_hash:
            problems.append(Break(seq, "prev_hash does not match the previous entry's hash"))
        elif recomputed != e["hash"]:
            problems.append(Break(seq, "hash mismatch: the entry was altered"))
        prev_seq, prev_hash = seq, e["hash"]
        expected[(e["entity_type"], e["entity_id"])] = (seq, _digest(e["new"]))
    problems.extend(_check_rows(session, expected))
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return Verification(entries=count, head_hash=prev_hash, problems=problems[:MAX_PROBLEMS])


Expected = dict[tuple[str, int], tuple[int, bytes | None]]
"""(entity type, id) → (seq of its latest entry, digest of that entry's `new`; None: no row)."""


def _digest(text: str | None) -> bytes | None:
    """A short stand-in for a snapshot text, so verify's memory does not grow with row size."""
    return None if text is None else hashlib.sha256(text.encode()).digest()


def _check_rows(session: Session, expected: Expected) -> list[Break]:
    problems: list[Break] = []
    for entity_type, model in AUDITED.items():
        table = model.__table__
        assert isinstance(table, Table)
        result = session.execute(select(table).execution_options(yield_per=5000))
        for rows in result.mappings().partitions():
            for row, current in zip(rows, snapshot_texts(table, rows), strict=True):
                problems.extend(_check_row(session, entity_type, row["id"], current, expected))
    for (entity_type, entity_id), (seq, new) in expected.items():
        if new is not None and entity_type in AUDITED:
            problems.append(
                Break(
                    seq,
                    "row recorded by this entry is missing (deleted)",
                    f"{entity_type} {entity_id}",
                )
            )
    return problems


def _check_row(
    session: Session, entity_type: str, row_id: int, current: str, expected: Expected
) -> list[Break]:
    recorded = expected.pop((entity_type, row_id), None)
    name = f"{entity_type} {row_id}"
    if recorded is None:
        return [Break(None, "row was written without an audit entry", name)]
    seq, digest = recorded
    if _digest(current) != digest:
        new = session.scalar(select(AuditEntry.new).where(AuditEntry.seq == seq))
        diff = _diff(json.loads(new) if new else {}, json.loads(current))
        return [Break(seq, f"row changed behind the application's back: {diff}", name)]
    return []


def _diff(recorded: Snapshot, current: Snapshot) -> str:
    changed = [
        f"{k} {recorded.get(k)!r} → {current.get(k)!r}"
        for k in sorted(set(recorded) | set(current))
        if recorded.get(k) != current.get(k)
    ]
    return "; ".join(changed) or "serialization differs"
