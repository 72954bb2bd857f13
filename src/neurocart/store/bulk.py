"""Batch INSERTs at driver speed that still bind every value through its column's type.

SQLAlchemy's executemany spends most of a 1,000-row batch building and processing a
parameter dict per row; here each column's bind processor is looked up once, applied column
by column (once for a column holding one value, e.g. the batch's recorded_at), and the
driver's own `executemany` does the rest. Values are bound exactly as SQLAlchemy would bind
them (UTC timestamps, enum values, booleans), so rows read back identically; the one
processor replaced by a faster equivalent (UTC timestamps as SQLite text, see also
`utc_texts`) is held to SQLAlchemy's by a test.

On PostgreSQL through psycopg a batch of more than a few rows goes in with COPY ... FROM
STDIN on the session's own connection, so inside the same transaction as the rest of the
write (its audit entry included): all or nothing, as before, at the server's bulk-load speed
— in COPY's binary format when every column is of a type whose binary form psycopg writes
exactly from the bound value (integers, floats, text, booleans, timestamps with time zone:
the observations), which spares the server parsing each value's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import repeat
from operator import floordiv, is_, sub
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, Table, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import Enum as SAEnum

from neurocart.store.types import UTCDateTime

_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
COPY_MIN_ROWS = 8
"""From this many rows a PostgreSQL batch is written with COPY (a smaller one with INSERT:
COPY's extra round trip costs more than it saves)."""
Processor = Callable[[Any], Any]


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (all with the same keys, in the same order) in the session's transaction."""
    if not rows:
        return
    names = tuple(rows[0])
    insert_tuples(session, table, names, [tuple(row[name] for name in names) for row in rows])


def insert_tuples(
    session: Session,
    table: Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
) -> None:
    """INSERT `rows`, each the values of the columns `names` in that order, in the session's
    transaction; the columns in `fixed` (name → value) get that value in every row.
    """
    if rows:
        insert_columns(session, table, names, list(zip(*rows, strict=True)), fixed)


def upsert_returning(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]]
) -> Sequence[Row[Any]]:
    """INSERT `rows` (all with the same keys), each replacing every column of the row its
    primary key already names; returns every column of each row as stored.

    One ``INSERT ... ON CONFLICT (pk) DO UPDATE ... RETURNING`` statement (PostgreSQL and
    SQLite spell it alike): a row changed in place keeps its identity, and a writer holding
    a lock saves the round trip of deleting before inserting.
    """
    if not rows:
        return []
    insert = _dialect_insert(session.get_bind().dialect.name)(table)
    key = {c.name for c in table.primary_key.columns}
    names = [name for name in rows[0] if name not in key]
    upsert = insert.on_conflict_do_update(
        index_elements=sorted(key), set_={name: insert.excluded[name] for name in names}
    ).returning(*table.columns)
    return session.execute(upsert, list(rows)).all()


def _dialect_insert(dialect: str) -> Callable[[Table], Any]:
    """The INSERT construct of `dialect` that can say ON CONFLICT."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # only a PostgreSQL server loads its dialect

        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def reserve_ids(session: Session, table: Table, n: int) -> list[int]:
    """`n` fresh primary keys of `table`'s `id`, so a batch is one plain executemany (no
    per-row RETURNING) whose ids are known before it is written (its audit entry names them).

    Safe only while the caller holds the audit chain's lock (`neurocart.store.audit.lock_chain`):
    on SQLite that is the write lock (nobody else can insert); on PostgreSQL the table's own
    sequence is advanced by `n` in one statement, which every writer of the record holding
    the same lock makes a block of its own (a row inserted behind the application's back
    meanwhile would take an id of the block and make the batch fail on the primary key,
    never share an id). One statement instead of `n` nextval calls: a quarter of the
    service's own time in a 1,000-row batch.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        last = connection.scalar(_ADVANCE, {"table": table.name, "n": n})
        assert last is not None
        return list(range(last - n + 1, last + 1))
    start: int | None = connection.scalar(_max_id(table))
    assert start is not None
    return list(range(start + 1, start + 1 + n))


_ADVANCE = text(
    "SELECT setval(s, nextval(s) + :n - 1) FROM (SELECT pg_get_serial_sequence(:table, 'id') s) q"
)


@cache
def _max_id(table: Table) -> Select[Any]:
    return select(func.coalesce(func.max(table.c.id), 0))


def insert_columns(
    session: Session,
    table: Table,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    bound: Mapping[str, Sequence[Any]] | None = None,
) -> None:
    """`insert_tuples` with the rows given column by column (`columns[i]` holds `names[i]`).

    `bound` (name → column) gives columns already in the driver's form, e.g. from
    `utc_texts`; they skip their bind processor. A column holding one value in every row (a
    `fixed` one, or e.g. a batch's single patient) is written into the statement as a literal
    when `_literal` can spell its driver value exactly and safely; binding a parameter costs
    the driver about as much per row as SQLite's insert of a narrow row itself.
    """
    if not columns or not columns[0]:
        return
    fixed = {} if fixed is None else fixed
    bound = {} if bound is None else bound
    connection = session.connection()
    dialect = connection.dialect
    all_names = (*names, *fixed)
    processors = _processors(table, all_names, dialect)
    n = len(columns[0])
    if n >= COPY_MIN_ROWS and _copies(dialect):
        _copy_columns(connection, table, names, columns, fixed, bound, processors)
        return
    out: list[Sequence[Any]] = [
        bound.get(name, column) for name, column in zip(names, columns, strict=True)
    ]
    out.extend((value,) * n for value in fixed.values())
    literals: dict[int, str] = {}
    for i, name in enumerate(all_names):
        if name in bound:
            continue
        column = out[i]
        process, few = processors.get(i, (None, False))
        first = column[0]
        if i >= len(names) or _holds_one(column, first):  # e.g. the batch's recorded_at
            value = first if process is None else process(first)
            literal = _literal(value, dialect, text=i >= len(names)) if n > 1 else None
            if literal is not None:
                literals[i] = literal
            elif process is not None:
                out[i] = (value,) * n
        elif process is None:
            continue
        elif few:  # an enum: each member is bound once
            keys = list(zip(map(type, column), column, strict=True))
            bindings = {key: process(key[1]) for key in set(keys)}
            out[i] = [bindings[key] for key in keys]
        else:
            out[i] = list(map(process, column))
    sql = _insert_sql(table, all_names, dialect, literals)
    varying = [column for i, column in enumerate(out) if i not in literals]
    rows = list(zip(*varying, strict=True)) if varying else [()] * n
    connection.exec_driver_sql(sql, rows)


def _copies(dialect: Dialect) -> bool:
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


def _copy_columns(
    connection: Connection,
    table: Table,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    fixed: Mapping[str, Any],
    bound: Mapping[str, Sequence[Any]],
    processors: Mapping[int, tuple[Processor, bool]],
) -> None:
    """COPY the rows into `table` on the session's psycopg connection (its transaction).

    Every value goes through its column's bind processor exactly as for INSERT; psycopg then
    writes the driver values in COPY's text format.
    """
    all_names = (*names, *fixed)
    n = len(columns[0])
    out: list[Sequence[Any]] = []
    for i, name in enumerate(all_names):
        if name in bound:
            out.append(bound[name])
            continue
        process, few = processors.get(i, (None, False))
        if i >= len(names):  # a fixed column: one value for every row
            value = fixed[name]
            out.append(repeat(value if process is None else process(value), n))  # type: ignore[arg-type]
        elif process is None:
            out.append(columns[i])
        elif few:
            keys = list(zip(map(type, columns[i]), columns[i], strict=True))
            bindings = {key: process(key[1]) for key in set(keys)}
            out.append([bindings[key] for key in keys])
        else:
            out.append(list(map(process, columns[i])))
    driver = connection.connection.driver_connection
    assert driver is not None
    # binary only from values this function bound: a `bound` column is already in the
    # driver's form, which may be text (e.g. a timestamp as ISO text) that only COPY's text
    # format takes
    types = None if bound else _binary_types(table, all_names, connection.dialect)
    with (
        driver.cursor() as cursor,
        cursor.copy(_copy_sql(table, all_names, connection.dialect, binary=bool(types))) as copy,
    ):
        if types:
            copy.set_types(types)
        for row in zip(*out, strict=True):
            copy.write_row(row)


@cache
def _copy_sql(table: Table, names: tuple[str, ...], dialect: Dialect, *, binary: bool) -> str:
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(table.c[name].name) for name in names)
    head = f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN"
    return head + " (FORMAT BINARY)" if binary else head


_BINARY_EXACT = re.compile(
    r"(INTEGER|BIGINT|SMALLINT|DOUBLE PRECISION|BOOLEAN|TEXT|VARCHAR(\(\d+\))?"
    r"|TIMESTAMP WITH TIME ZONE)"
)
"""Server types whose binary COPY form psycopg writes from the bound Python value exactly
as the text form would store it. Not JSON (the bound value is already JSON text, which a
binary json dumper would encode a second time) nor anything else unlisted: those tables
are copied as text."""


@cache
def _binary_types(table: Table, names: tuple[str, ...], dialect: Dialect) -> list[str] | None:
    """The server type names of `names` for a binary COPY, or None when one of them is not
    in `_BINARY_EXACT`."""
    types = [table.c[name].type.compile(dialect) for name in names]
    if not all(_BINARY_EXACT.fullmatch(t) for t in types):
        return None
    return [re.sub(r"\(\d+\)$", "", t).lower() for t in types]


def _holds_one(column: Sequence[Any], first: Any) -> bool:
    """Whether every value of `column` is `first` itself, or, for a str or int, equal to it and
    of its very type (1.0 or True equal 1 but may be stored otherwise). C-level scans only.
    """
    plain = type(first) in (str, int)
    last = column[-1]
    if last is not first and not (plain and last == first):  # most varying columns stop here
        return False
    if column.count(first) != len(column):  # identity, else ==
        return False
    if plain:
        return set(map(type, column)) == {type(first)}
    return all(map(is_, column, repeat(first)))


_PLAIN_TEXT = re.compile(r"[A-Za-z0-9 _.,:;/+@#=~-]*")
"""Text a literal may hold: no quote, backslash, percent (a paramstyle mark) or NUL."""


def _literal(value: Any, dialect: Dialect, *, text: bool) -> str | None:
    """SQL spelling `value` exactly as binding it would store it, or None to bind it.

    NULL, ints and booleans everywhere; plain text only when `text` (a `fixed` column: a
    value the caller sets, such as the batch's recorded_at — never a client's text, which is
    always bound) and only on SQLite, where a text literal and a bound str are the same TEXT
    value (on PostgreSQL a literal's type is inferred otherwise).
    """
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if type(value) is bool:
        return "TRUE" if value else "FALSE"
    if text and type(value) is str and dialect.name == "sqlite" and _PLAIN_TEXT.fullmatch(value):
        return f"'{value}'"
    return None


class UTCTexts(NamedTuple):
    """A batch's UTC times as text, each formatted once for the bind and the audit snapshot."""

    json: list[str]
    """`f'"{t.isoformat()}"'`: the time's JSON text in the audit snapshot."""
    bound: list[str] | None
    """The driver form: SQLite's text ("%04d-%02d-%02d %02d:%02d:%02d.%06d" of the naive UTC
    time, as SQLAlchemy binds it); None for a backend binding the datetime (PostgreSQL)."""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_JSON_END = [ord(c) for c in '+00:00"']  # the characters after the time
_QUOTE, _SPACE = ord('"'), ord(" ")


def utc_texts(dialect: Dialect, times: Sequence[datetime]) -> UTCTexts:
    """`UTCTexts` of `times`, which must all be `datetime`s in UTC (tzinfo UTC or an equal
    zero-offset `timezone`: their `isoformat` ends "+00:00").

    Formatted at once in numpy from exact integer microseconds (`isoformat` of an aware
    datetime costs ~1 µs each): "YYYY-MM-DDTHH:MM:SS.ffffff" is cut and patched into both
    forms, the ".ffffff" dropped where the microsecond is 0 as `isoformat` does. A test holds
    both to `isoformat` and SQLAlchemy's binding.
    """
    import numpy as np  # here: importing the store (the API's start-up) does not load numpy

    n = len(times)
    if not n:
        return UTCTexts([], None if dialect.name != "sqlite" else [])
    micros = np.fromiter(
        map(floordiv, map(sub, times, repeat(_EPOCH)), repeat(_MICROSECOND)), np.int64, n
    )
    iso = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    chars = iso.view(np.uint32).reshape(n, -1)[:, :26]  # UCS-4 code points, one per column
    quoted = np.zeros((n, 34), np.uint32)  # '"' + 26 + '+00:00"'; trailing NULs are dropped
    quoted[:, 0] = _QUOTE
    quoted[:, 1:27] = chars
    quoted[:, 27:] = _JSON_END
    whole = micros % 1_000_000 == 0  # isoformat() omits ".000000"
    quoted[whole, 20:27] = _JSON_END
    quoted[whole, 27:] = 0
    json = quoted.view("U34").ravel().tolist()
    if dialect.name != "sqlite":
        return UTCTexts(json, None)
    chars[:, 10] = _SPACE  # "T" → " "
    return UTCTexts(json, np.ascontiguousarray(chars).view("U26").ravel().tolist())


def _insert_sql(
    table: Table, names: tuple[str, ...], dialect: Dialect, literals: Mapping[int, str]
) -> str:
    """The INSERT of `names`, with a parameter mark for each column not in `literals`."""
    mark = _MARKS[dialect.paramstyle]
    values = ", ".join([literals.get(i, mark) for i in range(len(names))])
    return f"{_insert_head(table, names, dialect)} VALUES ({values})"


@cache
def _insert_head(table: Table, names: tuple[str, ...], dialect: Dialect) -> str:
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(table.c[name].name) for name in names)
    return f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({columns})"


@cache
def _processors(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> dict[int, tuple[Processor, bool]]:
    """Position → (bind processor, is an enum) of each column of `names` that has one."""
    processors = {}
    for i, name in enumerate(names):
        column = table.c[name]
        process: Processor | None = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and isinstance(column.type, UTCDateTime):
            process = _utc_processor(process, dialect)
        if process is not None:
            processors[i] = (process, isinstance(column.type, SAEnum))
    return processors


def _utc_processor(process: Processor, dialect: Dialect) -> Processor:
    """SQLAlchemy's UTCDateTime binding, with a fast path for datetimes already in UTC."""
    if dialect.name == "sqlite":

        def sqlite_text(value: Any) -> Any:
            # SQLAlchemy stores "%04d-%02d-%02d %02d:%02d:%02d.%06d" of the naive UTC time:
            # the first 26 characters of this ISO form (the year is always 4 digits)
            if type(value) is datetime and value.tzinfo is UTC:
                return value.isoformat(" ", "microseconds")[:26]
            return process(value)

        return sqlite_text

    if dialect.name == "postgresql":  # psycopg binds the aware datetime itself

        def aware(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is UTC:
                return value
            return process(value)

        return aware
    return process
