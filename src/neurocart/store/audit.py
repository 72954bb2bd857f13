"""The keyed, hash-chained audit log: every write appends who, when, what, old → new.

Entry n's hash is HMAC-SHA256, with the audit key its `key_id` names (kept outside the
database, `neurocart.store.audit_keys`), over the RFC 8785 (JCS) JSON of
`[seq, at, actor, action, entity_type, entity_id, old, new, prev_hash, key_id]`, and its
`prev_hash` is entry n-1's hash (the first entry chains to 64 zeros). `old` and `new` are
snapshots of the audited row (every column, normalized by its type), stored as the very
canonical JSON text that is hashed, so any JCS implementation holding the key recomputes a
hash (docs/audit.md). So `verify` can tell

- an edited, forged or re-signed audit entry (its HMAC no longer matches: without the key
  nobody recomputes one),
- a deleted, inserted or reordered entry (a gap in seq, or a broken prev link),
- a row of an audited table (`neurocart.store.models.AUDITED`: the clinical record, the
  monitor's alerts, alert actions, grades and checkpoint, the signatures, the feeds'
  messages and ingest keys) changed or deleted behind the application's back (the row no
  longer matches the `new` snapshot of its latest entry, or is gone, or a later entry
  creates its id again: the id was given to a new row), or written without an entry.

A batch of created rows (`append_batch`, e.g. 1,000 observations from a lab feed) gets ONE
entry, action `create_batch`, whose `new` is the canonical JSON list `[[id, digest], ...]`:
each row's id and the SHA-256 (hex) of the row's canonical snapshot text. The chain covers
every row of the batch just as a per-row entry would — a changed, deleted or unrecorded row,
or an edited digest list, is found the same way — at the cost of one audit row per batch.
The entry's `entity_id` is the batch's smallest row id; `trail` finds it for any of its rows.
Tables written in bulk with plain SQL (the monitor's) get one `write_batch` entry per table
and transaction (`append_states`): the rows' state as committed, a null digest for a deleted
row; the rows the transaction inserted get a `create_batch` entry instead, recorded the same
way, so that the chain tells every row's creation. The feeds' keys are batches of created
rows like observations; a kept feed message and a stored idempotency record are one entry
each (`neurocart.store.interop`, `neurocart.services.idempotency`).

A rewrite of the chain from some point on with the key, or the removal of its newest
entries together with their rows, cannot be seen from inside the database: the signed
checkpoints of the chain head in a file outside it (`neurocart.store.checkpoints`) can, and
`verify` compares the store with every one of them.

Writers are serialized so two transactions can never append the same seq: SQLite
transactions begin IMMEDIATE (neurocart.store.engine); on PostgreSQL `lock_chain` takes a
transaction-scoped advisory lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, cast

import rfc8785
from sqlalchemy import Boolean, Date, Float, Integer, Row, String, Table, event, select, text
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.types import JSON, TypeEngine
from sqlalchemy.types import Enum as SAEnum

from neurocart.config import get_settings
from neurocart.store.audit_keys import Keyring, current_keyring
from neurocart.store.bulk import insert_rows
from neurocart.store.engine import _BEGIN_OPTION
from neurocart.store.models import AUDITED, AuditEntry, Base
from neurocart.store.types import UTCDateTime, utcnow

GENESIS = "0" * 64
BATCH_ACTION = "create_batch"
"""The action of one entry recording many created rows (see `append_batch`)."""
STATE_ACTION = "write_batch"
"""The action of one entry recording the state of many written or deleted rows
(see `append_states`)."""
BATCH_ACTIONS = frozenset({BATCH_ACTION, STATE_ACTION})
CREATE_ACTIONS = frozenset({"create", "correct", "retract"})
"""The actions of one-row entries that create their row (a correction or a retraction is a
new row superseding the old one); with `create_batch` entries, what `verify` holds to ids
never created twice."""
ADVISORY_LOCK_KEY = 0x6E63_6175_6474  # "ncaudt": one lock for the one chain
MAX_PROBLEMS = 1000
_LOCKED = "neurocart.audit.locked_transaction"
_AUDIT_TABLE = cast(Table, AuditEntry.__table__)

Snapshot = dict[str, Any]
Change = tuple[int, Snapshot | None, Snapshot | None]
"""(entity_id, old, new) of one audited write."""

_SECRET_COLUMNS = {("users", "password_hash")}
"""Columns recorded only as a SHA-256 digest (a swapped password hash is still detected)."""

LATE_COLUMNS: dict[str, tuple[str, ...]] = {"observations": ("note",), "users": ("locale",)}
"""Columns a migration added to tables that already held rows (0008: the observation note,
0009: the user's language). A row last recorded before its column existed has a snapshot
without that key; `verify` accepts it when the column is still NULL there, which is the state
the row was recorded in, and nothing else (a note written since would be a change)."""


_LEGACY_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""The serialization of unkeyed entries written before keyed ones (Python's float repr)."""


def canonical(value: Any) -> str:
    """The one JSON serialization that is hashed: RFC 8785 (JCS), so any JCS implementation
    recomputes it. ValueError for what JCS cannot represent (NaN, ±inf, an integer beyond
    ±(2**53 - 1), a lone surrogate).

    JSON's own types are written here, four times faster than by the `rfc8785` package
    (strings by the C string encoder, whose form JCS shares; numbers by `_finite_float`;
    keys in UTF-16 order): the monitor's records of a patient's overdue tasks run to
    kilobytes. Anything else goes to `rfc8785` itself; a property test holds the two equal.
    """
    out: list[str] = []
    try:
        _jcs(value, out)
        text = "".join(out)
        text.encode("utf-8")  # a lone surrogate: not UTF-8, as JCS requires
        return text
    except _ForeignValueError:
        pass
    except UnicodeEncodeError:
        raise ValueError("cannot be audited as RFC 8785 JSON: a lone surrogate") from None
    try:
        return rfc8785.dumps(value).decode()
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"cannot be audited as RFC 8785 JSON: {exc}") from None


class _ForeignValueError(Exception):
    """A value of a type other than JSON's own (left to `rfc8785`)."""


_MAX_INTEGER = 2**53 - 1


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _jcs(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is dict:
        if not all(type(k) is str for k in value):
            raise _ForeignValueError
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16)):
            out.append(f"{',' if i else ''}{encode_basestring(key)}:")
            _jcs(value[key], out)
        out.append("}")
    elif kind is list or kind is tuple:
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _jcs(item, out)
        out.append("]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        if -_MAX_INTEGER <= value <= _MAX_INTEGER:
            out.append(str(value))
        else:
            raise _ForeignValueError  # rfc8785 words the refusal
    elif kind is float:
        if not math.isfinite(value):
            raise _ForeignValueError
        out.append(_finite_float(value))
    else:
        raise _ForeignValueError


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _text(snap: Snapshot | None) -> str | None:
    return None if snap is None else canonical(snap)


class _Hasher:
    """Hashes entries sharing (at, actor, action, entity_type, key) fast: one f-string each.

    A keyed entry's hash is HMAC-SHA256, with the secret of its key id, over the UTF-8 of
    ``canonical([seq, at, actor, action, entity_type, entity_id, old, new, prev_hash,
    key_id])`` with `old` and `new` as JSON values (their stored text is already canonical,
    so it is spliced in). An unkeyed entry (key id None, written before keyed entries) is
    plain SHA-256 over the same list without the key id, in the legacy serialization. A test
    holds the fast payload to `canonical`.
    """

    def __init__(
        self,
        at: datetime,
        actor: str,
        action: str,
        entity_type: str,
        key_id: str | None = None,
        secret: bytes | None = None,
    ) -> None:
        # strings only: JSON's and RFC 8785's string forms are the same (encode_basestring)
        fields = (_timestamp(at), actor, action, entity_type)
        self._fixed = ",".join(map(encode_basestring, fields))
        self._tail = "" if key_id is None else "," + encode_basestring(key_id)
        self._secret = secret

    def payload(
        self, seq: int, entity_id: int, old: str | None, new: str | None, prev_hash: str
    ) -> bytes:
        return (
            f"[{int(seq)},{self._fixed},{int(entity_id)},{old or 'null'},{new or 'null'},"
            f"{encode_basestring(prev_hash)}{self._tail}]"
        ).encode()

    def __call__(
        self, seq: int, entity_id: int, old: str | None, new: str | None, prev_hash: str
    ) -> str:
        data = self.payload(seq, entity_id, old, new, prev_hash)
        if self._secret is None:
            return hashlib.sha256(data).hexdigest()
        return hmac.digest(self._secret, data, "sha256").hex()


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
    *,
    key_id: str | None = None,
    secret: bytes | None = None,
) -> str:
    """An entry's hash: HMAC-SHA256 (hex) with `secret` named `key_id`, or the legacy plain
    SHA-256 when both are None."""
    hasher = _Hasher(at, actor, action, entity_type, key_id, secret)
    if key_id is None:
        texts = (None if v is None else _LEGACY_ENCODER.encode(v) for v in (old, new))
    else:
        texts = (_text(v) for v in (old, new))
    old_text, new_text = texts
    return hasher(seq, entity_id, old_text, new_text, prev_hash)


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
Renderer = Callable[[Sequence[Any]], str]
"""Renders canonical(snapshot) of one row given as a tuple of column values."""


def _finite_float(value: Any) -> str:
    """A float as RFC 8785 writes it (ECMAScript's shortest form: 38.0 is ``38``, -0.0 is
    ``0``, 1e-7 is ``1e-7``). Python's repr has the same digits; only its exponent form and
    the trailing ``.0`` differ, so most values need no more than the repr."""
    text = float.__repr__(value) if type(value) is float else repr(float(value))
    if text[-2:] == ".0":
        return "0" if text == "-0.0" else text[:-2]
    if "e" in text or "n" in text:  # exponent, or inf / nan
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"out of range float value {number!r} cannot be audited")
        return rfc8785.dumps(number).decode()
    return text


def _timestamp_text(value: datetime) -> str:
    if value.tzinfo is UTC and type(value) is datetime:  # already UTC: isoformat is the form
        return f'"{value.isoformat()}"'
    return encode_basestring(_timestamp(value))


def _encoder(normalize: Normalizer, type_: TypeEngine[Any]) -> Encoder:
    if isinstance(type_, Float):
        return _finite_float
    if isinstance(type_, Boolean):
        return lambda v: "true" if v else "false"
    if isinstance(type_, Integer):
        return lambda v: str(v) if type(v) is int else str(int(v))
    if normalize is _timestamp:
        return _timestamp_text
    if isinstance(type_, SAEnum) and type_.enum_class is not None:
        members = type_.enum_class
        texts = {m: encode_basestring(_enum_value(m)) for m in members}
        return lambda v: texts[v] if type(v) is members else encode_basestring(_enum_value(v))
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
        out.append((name, encode_basestring(key) + ":", _encoder(normalize, types[name])))
    return tuple(out)


@cache
def _row_shape(
    table: Table, names: tuple[str, ...], fixed: frozenset[str]
) -> tuple[Callable[..., Renderer], tuple[tuple[str | None, ...], ...], tuple[Encoder, ...]]:
    """Compiles, once per row shape, `make(*texts, *encoders) -> render(row)`.

    render is a single f-string alternating texts (JSON punctuation, keys and the columns in
    `fixed` or absent from `names`, encoded per call of make) and varying values, each through
    its encoder. Also returns what each text is made of (a literal, or None for a fixed
    column's value to encode) and the encoders, in order.
    """
    position = {name: i for i, name in enumerate(names)}
    texts: list[list[str | None]] = [["{"]]
    encoders: list[Encoder] = []
    calls: list[str] = []
    for j, (name, key, encode) in enumerate(_text_columns(table)):
        texts[-1].append(("," if j else "") + key)
        if name in fixed or name not in position:
            texts[-1].append(None)  # stands for the fixed column's encoded value
        else:
            i = position[name]
            calls.append(f"{{'null' if r[{i}] is None else E{len(encoders)}(r[{i}])}}")
            encoders.append(encode)
            texts.append([])
    texts[-1].append("}")
    body = "".join(f"{{T{n}}}{call}" for n, call in enumerate(calls)) + f"{{T{len(calls)}}}"
    params = [f"T{n}" for n in range(len(texts))] + [f"E{n}" for n in range(len(encoders))]
    source = (
        f"def make({', '.join(params)}):\n"
        f"    def render(r):\n"
        f'        return f"{body}"\n'
        f"    return render\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<audit snapshot of {table.name}>", "exec"), namespace)
    return (
        cast(Callable[..., Renderer], namespace["make"]),
        tuple(tuple(t) for t in texts),
        tuple(encoders),
    )


def snapshot_renderer(
    table: Table, names: Sequence[str], fixed: Mapping[str, Any] | None = None
) -> Renderer:
    """canonical(snapshot) of a row given as a sequence of the values of `names`, in order.

    Columns in `fixed` (name → value) have that value in every row and are encoded once
    (e.g. a batch's recorded_at); a column neither in `names` nor in `fixed` is null.
    """
    fixed = {} if fixed is None else fixed
    make, texts, encoders = _row_shape(table, tuple(names), frozenset(fixed))
    values = iter(
        "null" if fixed.get(name) is None else encode(fixed[name])
        for name, _, encode in _text_columns(table)
        if name in fixed or name not in names
    )
    joined = ["".join(next(values) if part is None else part for part in t) for t in texts]
    return make(*joined, *encoders)


def snapshot_column_texts(
    table: Table,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    encoded: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """`snapshot_renderer(table, names, fixed)` of every row, the rows given column by column.

    Each column is encoded at once (a string or enum column once per distinct value, floats
    and ints by their repr), then each row is one %-format. `encoded` (name → column) gives
    columns already in their JSON text, e.g. '"2025-03-01T08:00:00+00:00"' for a UTC time
    (`f'"{t.isoformat()}"'`). A test holds the result to `snapshot_renderer`'s.
    """
    layout = _column_layout(table, names, columns, fixed, encoded)
    if layout is None:
        return []
    literals, slots = layout
    template = "%s".join(t.replace("%", "%%") for t in literals)
    parts = [
        given if given is not None else _encode_column(encode, type_, column)
        for given, encode, type_, column in slots
    ]
    return list(map(template.__mod__, zip(*parts, strict=True)))


def snapshot_column_digests(
    table: Table,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    encoded: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """`row_digest` of each of `snapshot_column_texts(...)`, without building the texts.

    What a batch entry records per row. Each row is one bytes %-format, hashed as it is made:
    ints and floats go in as numbers (``%d``, ``%r`` write their reprs, so no text per value
    is made), other columns as their UTF-8 JSON text. A test holds it to the texts' digests.
    """
    layout = _column_layout(table, names, columns, fixed, encoded)
    if layout is None:
        return []
    literals, slots = layout
    marks: list[bytes] = []
    parts: list[Sequence[Any]] = []
    for given, encode, type_, column in slots:
        numbers = None if given is not None else _number_column(type_, column)
        if numbers is not None:
            mark, part = numbers
        elif given is not None:
            mark, part = b"%s", list(map(str.encode, given))
        else:
            mark, part = b"%s", _utf8_column(encode, type_, column)
        marks.append(mark)
        parts.append(part)
    texts = [t.replace("%", "%%").encode() for t in literals]
    template = b"".join(x for pair in zip(texts, [*marks, b""], strict=True) for x in pair)
    rows = map(template.__mod__, zip(*parts, strict=True))
    return list(map(_HEXDIGEST, map(hashlib.sha256, rows)))


_HEXDIGEST = type(hashlib.sha256()).hexdigest
_Slot = tuple[Sequence[str] | None, Encoder, TypeEngine[Any], Sequence[Any]]
"""One varying column of a row: (its given JSON texts, or None; encoder; type; values)."""


def _column_layout(
    table: Table,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    fixed: Mapping[str, Any] | None,
    encoded: Mapping[str, Sequence[str]] | None,
) -> tuple[list[str], list[_Slot]] | None:
    """The canonical text of the rows as literal texts around the varying columns' slots:
    ``literals[0] slot[0] literals[1] ... slot[-1] literals[-1]``; None for no rows.
    """
    fixed = {} if fixed is None else fixed
    encoded = {} if encoded is None else encoded
    if not columns or not columns[0]:
        return None
    types = {c.name: c.type for c in table.columns}
    fixed = {**fixed, **_constant_texts(names, columns, types, fixed, encoded)}
    _, texts, encoders = _row_shape(table, tuple(names), frozenset(fixed))
    fixed_values = iter(
        "null" if fixed.get(name) is None else encode(fixed[name])
        for name, _, encode in _text_columns(table)
        if name in fixed or name not in names
    )
    literals = ["".join(next(fixed_values) if p is None else p for p in t) for t in texts]
    position = {name: i for i, name in enumerate(names)}
    varying = [
        name for name, _, _ in _text_columns(table) if name not in fixed and name in position
    ]
    slots: list[_Slot] = [
        (encoded.get(name), encode, types[name], columns[position[name]])
        for name, encode in zip(varying, encoders, strict=True)
    ]
    return literals, slots


def _constant_texts(
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    types: Mapping[str, TypeEngine[Any]],
    fixed: Mapping[str, Any],
    encoded: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """The string or enum columns holding one value (e.g. a batch's code system and source),
    to encode once, like `fixed`. Only those types: there, equal values (a str and its StrEnum
    member) encode the same, which is not so for floats (0.0 == -0.0).
    """
    out = {}
    for name, column in zip(names, columns, strict=True):
        first = column[0]
        if (
            name not in fixed
            and name not in encoded
            and isinstance(types[name], String)  # SAEnum is a String
            and isinstance(first, str)
            and column.count(first) == len(column)
        ):
            out[name] = first
    return out


def _encode_column(encode: Encoder, type_: TypeEngine[Any], column: Sequence[Any]) -> list[str]:
    """[`encode`(v), or 'null' for None, for v in column], by the fastest exact route."""
    kinds = set(map(type, column))
    if type(None) in kinds:
        return ["null" if v is None else encode(v) for v in column]
    if isinstance(type_, Float):
        if kinds == {float}:
            return _float_texts(column).split(_SEP)
    elif isinstance(type_, Integer) and not isinstance(type_, Boolean):
        if kinds == {int}:
            return list(map(int.__repr__, column))
    elif _few_values(type_):
        # equal values (a str and its StrEnum member, True and 1) encode the same here
        texts = {v: encode(v) for v in set(column)}
        return list(map(texts.__getitem__, column))
    return list(map(encode, column))


def _few_values(type_: TypeEngine[Any]) -> bool:
    """A column type whose values are encoded once per distinct value."""
    return isinstance(type_, String | SAEnum | Boolean) and not isinstance(type_, JSON)


def _number_column(
    type_: TypeEngine[Any], column: Sequence[Any]
) -> tuple[bytes, Sequence[Any]] | None:
    """(bytes %-format mark, the values) for a column of exact ints, which ``%d`` writes as
    `_encode_column` does (their repr); None otherwise (floats need their RFC 8785 form).
    """
    kinds = set(map(type, column))
    if isinstance(type_, Integer) and not isinstance(type_, Boolean) and kinds == {int}:
        return b"%d", column
    return None


def _utf8_column(encode: Encoder, type_: TypeEngine[Any], column: Sequence[Any]) -> list[bytes]:
    """`_encode_column` as UTF-8 (a column of few values: each distinct value encoded once)."""
    if _few_values(type_) and None not in (distinct := set(column)):
        texts = {v: encode(v).encode() for v in distinct}
        return list(map(texts.__getitem__, column))
    if isinstance(type_, Float) and set(map(type, column)) == {float}:
        return _float_texts(column).encode().split(_SEP.encode())
    return list(map(str.encode, _encode_column(encode, type_, column)))


_SEP = "\x00"


def _float_texts(column: Sequence[float]) -> str:
    """The RFC 8785 texts of a column of floats joined by NUL, made in a few C-level passes
    (what `_finite_float` makes of each: a test holds them equal): the reprs, less the
    ``.0`` of integral values, with ``-0`` as ``0``; a column with an exponent or a
    non-finite value goes value by value."""
    joined = _SEP + _SEP.join(map(float.__repr__, column)) + _SEP
    if "e" in joined or "n" in joined:
        return _SEP.join(map(_finite_float, column))
    joined = joined.replace(".0" + _SEP, _SEP)
    while _SEP + "-0" + _SEP in joined:  # adjacent ones share a separator: repeat
        joined = joined.replace(_SEP + "-0" + _SEP, _SEP + "0" + _SEP)
    return joined[1:-1]


def snapshot_texts(table: Table, rows: Iterable[Mapping[Any, Any]]) -> list[str]:
    """canonical(snapshot) of many rows given as mappings of column name → value."""
    names = [c.name for c in table.columns]
    render = snapshot_renderer(table, names)
    return [render([row.get(name) for name in names]) for row in rows]


# --- appending ----------------------------------------------------------------------------


def lock_chain(session: Session) -> None:
    """Make this transaction the chain's only writer until it ends.

    Call it before reading anything a write depends on (repo does, first thing).
    """
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_LOCKED) is transaction:
        return  # already held by this transaction
    connection = session.connection()
    transaction = session.get_transaction()
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif connection.get_execution_options().get(_BEGIN_OPTION) == "DEFERRED":
        raise RuntimeError("write attempted in a read-only session (Database.reading)")
    session.info[_LOCKED] = transaction


def holds_chain(session: Session) -> bool:
    """Whether this session's open transaction took the chain lock (it writes the record)."""
    transaction = session.get_transaction()
    return transaction is not None and session.info.get(_LOCKED) is transaction


def head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest entry, or (0, GENESIS) for an empty log.

    Within a transaction that holds the chain lock and appended already, the head is the
    one it appended last (nobody else can append meanwhile), so it is not read again: a
    transaction writing several entries (a message, its results and their keys) reads the
    head once. The end of the transaction or of any savepoint forgets it (a savepoint rolled
    back takes its entries with it)."""
    if session.autoflush:
        session.flush()  # as session.execute would, without the ORM's per-query cost
    known = session.info.get(_HEAD_KEY)
    if known is not None and known[0] is session.get_transaction() and holds_chain(session):
        return known[1], known[2]
    row = session.connection().execute(_HEAD).first()
    return (0, GENESIS) if row is None else (row[0], row[1])


_HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_HEAD_KEY = "neurocart.audit.head"
"""Session.info key: (transaction, seq, hash) of the entry the transaction appended last."""


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    """At the end of a transaction or a savepoint (not of the inner span of a flush)."""
    if transaction.nested or transaction.parent is None:
        session.info.pop(_HEAD_KEY, None)


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
    items = ((action, entity_type, entity_id, old, new) for entity_id, old, new in changes)
    return _append(session, actor=actor, items=items)


def _append(
    session: Session,
    *,
    actor: str,
    items: Iterable[tuple[str, str, int, str | None, str | None]],
) -> int:
    """Entries (action, entity type, entity id, old text, new text) of one actor, chained
    and signed, in one INSERT; returns the last seq."""
    keyring = current_keyring()
    lock_chain(session)
    seq, prev = head(session)
    at = utcnow()
    hashers: dict[tuple[str, str], _Hasher] = {}
    rows = []
    for action, entity_type, entity_id, old_text, new_text in items:
        hasher = hashers.get((action, entity_type))
        if hasher is None:
            hasher = hashers[action, entity_type] = _Hasher(
                at, actor, action, entity_type, keyring.current, keyring.secret
            )
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
                "key_id": keyring.current,
            }
        )
        prev = digest
    if rows:
        insert_rows(session, _AUDIT_TABLE, rows)
        session.info[_HEAD_KEY] = (session.get_transaction(), seq, prev)
    return seq


def row_digest(snapshot_text: str) -> str:
    """SHA-256 (hex) of a row's canonical snapshot text: what a batch entry records per row."""
    return hashlib.sha256(snapshot_text.encode()).hexdigest()


def digests_text(ids: Sequence[int], digests: Sequence[str]) -> str:
    """The `new` of a batch entry: canonical JSON `[[id, digest], ...]` of rows given by their
    ids and `row_digest`s (hex, as `hexdigest` gives). Written directly, one f-string per row
    (an int and a hex string); a test holds it to `canonical`.
    """
    if not set(map(type, ids)) <= {int}:
        ids = list(map(int, ids))  # e.g. a numpy integer, whose repr is not its JSON
    pairs = [f'[{i!r},"{d}"' for i, d in zip(ids, digests, strict=True)]
    return "[" + "],".join(pairs) + "]]" if pairs else "[]"


def batch_rows(new_text: str, *, removals: bool = False) -> list[tuple[int, str | None]]:
    """(row id, digest) pairs of a batch entry's `new`; ValueError if it is not such a list.

    With `removals` (a `write_batch` entry) a digest may be null: the row was deleted.
    """
    pairs = json.loads(new_text)
    if not isinstance(pairs, list):
        raise ValueError("a batch entry's new must be a list")
    out: list[tuple[int, str | None]] = []
    for pair in pairs:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and type(pair[0]) is int
            and (isinstance(pair[1], str) or (removals and pair[1] is None))
        ):
            raise ValueError(f"not an [id, digest] pair: {pair!r}")
        out.append((pair[0], pair[1]))
    return out


def append_states(
    session: Session,
    *,
    actor: str,
    written: Mapping[str, Iterable[Any]],
    created: Mapping[str, Iterable[Any]] | None = None,
    returned: Mapping[str, Mapping[int, Row[Any] | None]] | None = None,
) -> int:
    """Append one `write_batch` entry per entity type in `written` (entity type → primary
    keys of its rows this transaction wrote or deleted) recording those rows as the
    transaction left them, and one `create_batch` entry per entity type in `created` (the
    keys of the rows it inserted, recorded the same way), all in one INSERT; returns the
    last seq.

    For tables written with plain SQL in bulk (the monitor's alerts, alert actions, grades
    and checkpoint): the rows are read back, so what is recorded is exactly what `verify`
    will read, and a row that is gone is recorded as deleted (a null digest). One entry per
    table per transaction keeps the monitor's steps as cheap as an ingest batch. A created
    row is recorded as created, not merely written, because `verify` refuses a creation of
    an id whose row the chain still holds (the row was deleted behind the application's
    back and its id drawn again); a table whose rows are inserted or updated in place under
    a key of their own (the grades, upserted by patient) lists them in `written` only.

    `returned` (entity type → primary key → row) holds rows the writing statements gave
    back with ``RETURNING`` every column of the table, in the table's order (None: the row
    was deleted): what the database stored, as a read would give it, so those are not
    read again — under the chain lock every round trip counts.
    """
    created = created or {}
    returned = returned or {}
    items = []
    for entity_type in [*written, *(t for t in created if t not in written)]:
        new_ids = {int(i) for i in created.get(entity_type, ())}
        keys = sorted({int(i) for i in written.get(entity_type, ())} | new_ids)
        if not keys:
            continue
        table = _table(entity_type)
        names = [c.name for c in table.columns]
        render, pk = snapshot_renderer(table, names), primary_key(table)
        column, at = table.c[pk], names.index(pk)
        digests: dict[int, str] = {}
        given = returned.get(entity_type, {})
        for key in keys:
            if key in given and (row := given[key]) is not None:
                digests[key] = row_digest(render(row))
        unread = [k for k in keys if k not in given]
        for start in range(0, len(unread), 500):
            chunk = unread[start : start + 500]
            for row in session.execute(select(table).where(column.in_(chunk))):
                digests[row[at]] = row_digest(render(row))
        made = [k for k in keys if k in new_ids and k in digests]
        if made:
            new = canonical([[k, digests[k]] for k in made])
            items.append((BATCH_ACTION, entity_type, made[0], None, new))
        states = [k for k in keys if k not in made]
        if states:
            new = canonical([[k, digests.get(k)] for k in states])
            items.append((STATE_ACTION, entity_type, states[0], None, new))
    if not items:
        lock_chain(session)
        return head(session)[0]
    return _append(session, actor=actor, items=items)


def append_rows(
    session: Session, *, actor: str, entity_type: str, rows: Sequence[Base], created: bool = False
) -> int:
    """`append_states` for ORM rows this transaction has just written and flushed, recorded
    from their attributes instead of being read back (they hold what was stored: the values
    the INSERT or UPDATE sent). One `write_batch` entry, or with `created` (the rows were
    inserted) one `create_batch` entry; returns its seq."""
    if not rows:
        lock_chain(session)
        return head(session)[0]
    table = _table(entity_type)
    names = [c.name for c in table.columns]
    render, pk = snapshot_renderer(table, names), primary_key(table)
    states = {
        int(getattr(row, pk)): row_digest(render([getattr(row, n) for n in names])) for row in rows
    }
    keys = sorted(states)
    new = canonical([[k, states[k]] for k in keys])
    action = BATCH_ACTION if created else STATE_ACTION
    return _append(session, actor=actor, items=[(action, entity_type, keys[0], None, new)])


def _table(entity_type: str) -> Table:
    table = AUDITED[entity_type].__table__
    assert isinstance(table, Table)
    return table


@cache
def primary_key(table: Table) -> str:
    """The name of the one primary-key column of an audited table (`verify` keys rows by it)."""
    (column,) = table.primary_key.columns
    return column.name


def append_batch(
    session: Session, *, actor: str, entity_type: str, ids: Sequence[int], digests: Sequence[str]
) -> int:
    """Append ONE `create_batch` entry for many created rows; returns its seq.

    The rows are given by their ids and `row_digest`s (`snapshot_column_digests` makes them
    without building the snapshot texts). Nothing is written for no rows (the head's seq is
    returned).
    """
    if not ids:
        lock_chain(session)
        return head(session)[0]
    return append_texts(
        session,
        actor=actor,
        action=BATCH_ACTION,
        entity_type=entity_type,
        changes=[(int(min(ids)), None, digests_text(ids, digests))],
    )


def trail(session: Session, entity_type: str, entity_id: int) -> list[AuditEntry]:
    """The entries that recorded one row, oldest first, including the batch entry creating it.

    The batch holding a row is the one with the greatest first id not above the row's id:
    ids are drawn under the chain lock, so a later batch's ids are all above an earlier one's.
    """
    own = select(AuditEntry).where(
        AuditEntry.entity_type == entity_type,
        AuditEntry.entity_id == entity_id,
        AuditEntry.action.not_in(BATCH_ACTIONS),
    )
    entries = list(session.scalars(own))
    states = select(AuditEntry).where(
        AuditEntry.entity_type == entity_type,
        AuditEntry.action == STATE_ACTION,
        AuditEntry.entity_id <= entity_id,
    )
    for state in session.scalars(states):
        try:
            if any(i == entity_id for i, _ in batch_rows(state.new or "", removals=True)):
                entries.append(state)
        except ValueError:
            pass  # an altered entry: `verify` reports it
    batch = session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.entity_type == entity_type,
            AuditEntry.action == BATCH_ACTION,
            AuditEntry.entity_id <= entity_id,
        )
        .order_by(AuditEntry.entity_id.desc(), AuditEntry.seq.desc())
        .limit(1)
    )
    if batch is not None and batch.new is not None:
        try:
            if any(i == entity_id for i, _ in batch_rows(batch.new)):
                entries.append(batch)
        except ValueError:
            pass  # an altered entry: `verify` reports it
    return sorted(entries, key=lambda e: e.seq)


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

AT_ENTRY = "entry seq {seq}: {finding}"
AT_ENTRY_ROW = "entry seq {seq} ({audited}): {finding}"
NO_ENTRY_ROW = "no audit entry ({audited}): {finding}"
GAP = "gap in seq: entry {missing} deleted"
PREV_HASH = "prev_hash does not match the previous entry's hash"
UNKEYED = "unkeyed entry (plain SHA-256, which anyone can recompute)"
UNKNOWN_KEY = "signed with key {key_id}, which is not in the keyring"
ALTERED = "hash mismatch: the entry was altered"
DIGESTS_UNREADABLE = "batch entry's row digests are unreadable"
CHECKPOINT_AT = "checkpoint line {line} of {at}"
TRUNCATED = (
    "the log ends at seq {top} but {where} recorded head seq {seq}: its newest entries were "
    "removed (truncated)"
)
REWRITTEN = "the entry differs from {where}: the chain was rewritten from here on"
RECREATED = (
    "this entry creates the id again: the row entry seq {before} recorded was deleted behind "
    "the application's back"
)
ROW_MISSING = "row recorded by this entry is missing (deleted)"
ROW_UNAUDITED = "row was written without an audit entry"
ROW_CHANGED = "row changed behind the application's back: {diff}"
CHANGED_DELETED = (
    "row changed behind the application's back: it exists though its latest entry recorded it "
    "deleted"
)
CHANGED_BATCH = (
    "row changed behind the application's back: its values no longer match the digest its "
    "batch entry recorded"
)
CHANGED_SERIALIZATION = "row changed behind the application's back: serialization differs"
MESSAGES = (
    AT_ENTRY, AT_ENTRY_ROW, NO_ENTRY_ROW, GAP, PREV_HASH, UNKEYED, UNKNOWN_KEY, ALTERED,
    DIGESTS_UNREADABLE, CHECKPOINT_AT, TRUNCATED, REWRITTEN, RECREATED, ROW_MISSING,
    ROW_UNAUDITED, ROW_CHANGED, CHANGED_DELETED, CHANGED_BATCH, CHANGED_SERIALIZATION,
)  # fmt: skip
"""The findings of `verify` as message keys with named fields (like
`neurocart.store.errors.MESSAGES`): `str(Break)` is the English the command line prints in
English; `neurocart audit verify` says it in its reader's language
(`neurocart.i18n.message_text`). A row is kept as named ("patient 3"), the field-by-field
difference of a changed row too (column names and values)."""


@dataclass(frozen=True)
class Break:
    """One thing found wrong: the audit entry at fault (if any), the row, and why."""

    seq: int | None
    reason: str
    entity: str | None = None

    def __str__(self) -> str:
        if self.seq is None and self.entity is None:  # e.g. the checkpoint file
            return self.reason
        if self.entity is None:
            return AT_ENTRY.format(seq=self.seq, finding=self.reason)
        if self.seq is None:
            return NO_ENTRY_ROW.format(audited=self.entity, finding=self.reason)
        return AT_ENTRY_ROW.format(seq=self.seq, audited=self.entity, finding=self.reason)


@dataclass(frozen=True)
class Verification:
    """The outcome of `verify`: how many entries, the head hash, and what is broken.

    `checkpoint` is the seq of the newest checkpoint the store was compared with (None when
    no checkpoint file was given or it holds none)."""

    entries: int
    head_hash: str
    problems: list[Break] = field(default_factory=list)
    checkpoint: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Break | None:
        return self.problems[0] if self.problems else None


def verify(
    session: Session,
    *,
    keyring: Keyring | None = None,
    checkpoint_path: Path | None = None,
    unkeyed_prefix: bool | None = None,
) -> Verification:
    """Walk the chain (each entry's HMAC with its key, the seq and prev links; no id created
    twice without a deletion recorded in between), check every audited row against its
    latest entry, then the chain against every checkpoint in `checkpoint_path` (when given).

    `keyring` defaults to the configured one (AuditKeyError without a key). Unkeyed entries
    are accepted only before the first keyed one and only with `unkeyed_prefix` (default:
    the `audit_unkeyed_prefix` setting).
    """
    from neurocart.store.checkpoints import read_checkpoints

    keyring = keyring or current_keyring()
    if unkeyed_prefix is None:
        unkeyed_prefix = get_settings().audit_unkeyed_prefix
    problems: list[Break] = []
    checkpoints, file_problems = (
        ([], []) if checkpoint_path is None else read_checkpoints(checkpoint_path, keyring)
    )
    problems.extend(Break(None, p) for p in file_problems)
    pinned = {c.seq: "" for c in checkpoints}
    expected: Expected = {}
    count, prev_seq, prev_hash, keyed = 0, 0, GENESIS, False
    entries = session.execute(
        select(_AUDIT_TABLE).order_by(AuditEntry.seq).execution_options(yield_per=5000)
    )
    hashers: dict[tuple[Any, ...], _Hasher] = {}
    for e in entries.mappings():
        count += 1
        seq, key_id = e["seq"], e["key_id"]
        fixed = (e["at"], e["actor"], e["action"], e["entity_type"], key_id)
        hasher = hashers.get(fixed)
        secret = None if key_id is None else keyring.get(key_id)
        if hasher is None:
            if len(hashers) > 64:
                hashers.clear()
            hasher = hashers[fixed] = _Hasher(*fixed, secret)
        if seq != prev_seq + 1:
            missing = f"{prev_seq + 1}" if seq == prev_seq + 2 else f"{prev_seq + 1}–{seq - 1}"
            problems.append(Break(seq, GAP.format(missing=missing)))
        elif e["prev_hash"] != prev_hash:
            problems.append(Break(seq, PREV_HASH))
        elif key_id is None and (keyed or not unkeyed_prefix):
            problems.append(Break(seq, UNKEYED))
        elif key_id is not None and secret is None:
            problems.append(Break(seq, UNKNOWN_KEY.format(key_id=repr(key_id))))
        elif not hmac.compare_digest(
            hasher(seq, e["entity_id"], e["old"], e["new"], e["prev_hash"]), e["hash"]
        ):
            problems.append(Break(seq, ALTERED))
        keyed = keyed or key_id is not None
        prev_seq, prev_hash = seq, e["hash"]
        if seq in pinned:
            pinned[seq] = e["hash"]
        legacy, action, entity_type = key_id is None, e["action"], e["entity_type"]
        if action not in BATCH_ACTIONS:
            key = (entity_type, e["entity_id"])
            if action in CREATE_ACTIONS and (before := expected.get(key)) and before[1]:
                problems.append(_recreated(key, before[0], seq))
            expected[key] = (seq, _digest(e["new"]), legacy)
            continue
        creates = action == BATCH_ACTION
        try:
            pairs = batch_rows(e["new"] or "", removals=action == STATE_ACTION)
            for row_id, digest in pairs:
                key = (entity_type, row_id)
                if creates and (before := expected.get(key)) and before[1]:
                    problems.append(_recreated(key, before[0], seq))
                expected[key] = (seq, None if digest is None else bytes.fromhex(digest), legacy)
        except ValueError:
            problems.append(Break(seq, DIGESTS_UNREADABLE))
    problems.extend(_check_rows(session, expected))
    problems.extend(_check_checkpoints(checkpoints, pinned, prev_seq))
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return Verification(
        entries=count,
        head_hash=prev_hash,
        problems=problems[:MAX_PROBLEMS],
        checkpoint=checkpoints[-1].seq if checkpoints else None,
    )


def _check_checkpoints(checkpoints: Sequence[Any], pinned: dict[int, str], top: int) -> list[Break]:
    """Each checkpoint's (seq, hash) against the store whose newest entry is `top`."""
    out = []
    for c in checkpoints:
        where = CHECKPOINT_AT.format(line=c.line, at=c.at)
        if c.seq > top:
            out.append(Break(top or None, TRUNCATED.format(top=top, where=where, seq=c.seq)))
        elif c.seq and pinned.get(c.seq) != c.hash:
            out.append(Break(c.seq, REWRITTEN.format(where=where)))
    return out


Expected = dict[tuple[str, int], tuple[int, bytes | None, bool]]
"""(entity type, id) → (seq of its latest entry, digest of that entry's `new` (None: no
row), whether that entry is unkeyed, i.e. in the legacy serialization)."""


def _recreated(key: tuple[str, int], before: int, seq: int) -> Break:
    """Entry `seq` creates an id whose row entry `before` recorded and nothing recorded
    deleted: that row was deleted behind the application's back and its id drawn again
    (SQLite hands the highest id out again once its row is gone; a PostgreSQL sequence does
    when someone sets it back). The new row's entry covers the id, so without this finding
    the deletion would be hidden. `verify` tests it with one dict lookup per created row,
    in its one pass over the chain."""
    entity_type, entity_id = key
    return Break(seq, RECREATED.format(before=before), f"{entity_type} {entity_id}")


def _digest(text: str | None) -> bytes | None:
    """A short stand-in for a snapshot text, so verify's memory does not grow with row size."""
    return None if text is None else hashlib.sha256(text.encode()).digest()


def _check_rows(session: Session, expected: Expected) -> list[Break]:
    problems: list[Break] = []
    for entity_type, model in AUDITED.items():
        table = model.__table__
        assert isinstance(table, Table)
        names = [c.name for c in table.columns]
        render, at_id = snapshot_renderer(table, names), names.index(primary_key(table))
        result = session.execute(select(table).execution_options(yield_per=5000))
        for rows in result.partitions():
            for row in rows:
                found = _check_row(session, table, entity_type, row, at_id, render, expected)
                problems.extend(found)
    for (entity_type, entity_id), (seq, new, _) in expected.items():
        if new is not None and entity_type in AUDITED:
            problems.append(Break(seq, ROW_MISSING, f"{entity_type} {entity_id}"))
    return problems


def _check_row(
    session: Session,
    table: Table,
    entity_type: str,
    row: Any,
    at_id: int,
    render: Renderer,
    expected: Expected,
) -> list[Break]:
    row_id = row[at_id]
    recorded = expected.pop((entity_type, row_id), None)
    name = f"{entity_type} {row_id}"
    if recorded is None:
        return [Break(None, ROW_UNAUDITED, name)]
    seq, digest, legacy = recorded
    current = render(row)
    if _digest(current) == digest:
        return []
    if legacy and digest is not None:
        values = snapshot_values(table, dict(row._mapping))
        if _digest(_LEGACY_ENCODER.encode(values)) == digest:
            return []
    late = [c for c in LATE_COLUMNS.get(table.name, ()) if row._mapping[c] is None]
    if late and digest is not None:
        values = snapshot_values(table, dict(row._mapping))
        for column in late:
            del values[column]
        text = _LEGACY_ENCODER.encode(values) if legacy else canonical(values)
        if _digest(text) == digest:
            return []
    action, new = session.execute(
        select(AuditEntry.action, AuditEntry.new).where(AuditEntry.seq == seq)
    ).one()
    if digest is None:
        return [Break(seq, CHANGED_DELETED, name)]
    if action in BATCH_ACTIONS:
        return [Break(seq, CHANGED_BATCH, name)]
    diff = _diff(json.loads(new) if new else {}, json.loads(current))
    return [Break(seq, ROW_CHANGED.format(diff=diff) if diff else CHANGED_SERIALIZATION, name)]


def _diff(recorded: Snapshot, current: Snapshot) -> str:
    changed = [
        f"{k} {recorded.get(k)!r} → {current.get(k)!r}"
        for k in sorted(set(recorded) | set(current))
        if recorded.get(k) != current.get(k)
    ]
    return "; ".join(changed)
