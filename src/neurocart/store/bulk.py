"""Batch INSERTs at driver speed that still bind every value through its column's type.

SQLAlchemy's executemany spends most of a 1,000-row batch building and processing a
parameter dict per row; here each column's bind processor is looked up once, applied column
by column (once for a column holding one value, e.g. the batch's recorded_at), and the
driver's own `executemany` does the rest. Values are bound exactly as SQLAlchemy would bind
them (UTC timestamps, enum values, booleans), so rows read back identically; the one
processor replaced by a faster equivalent (UTC timestamps as SQLite text) is held to
SQLAlchemy's by a test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import Enum as SAEnum

from neurocart.store.types import UTCDateTime

_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
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
    `bind_utc_isoformat`; they skip their bind processor.
    """
    if not columns or not columns[0]:
        return
    fixed = {} if fixed is None else fixed
    bound = {} if bound is None else bound
    connection = session.connection()
    all_names = (*names, *fixed)
    sql, processors = _statement(table, all_names, connection.dialect)
    n = len(columns[0])
    out: list[Sequence[Any]] = [
        bound.get(name, column) for name, column in zip(names, columns, strict=True)
    ]
    out.extend((value,) * n for value in fixed.values())
    for i, process, few in processors:
        if all_names[i] in bound:
            continue
        column = out[i]
        first = column[0]
        if all(value is first for value in column):  # e.g. the batch's recorded_at
            out[i] = (process(first),) * n
        elif few:  # an enum: each member is bound once
            keys = list(zip(map(type, column), column, strict=True))
            bindings = {key: process(key[1]) for key in set(keys)}
            out[i] = [bindings[key] for key in keys]
        else:
            out[i] = list(map(process, column))
    connection.exec_driver_sql(sql, list(zip(*out, strict=True)))


def bind_utc_isoformat(dialect: Dialect, isos: Sequence[str]) -> list[str] | None:
    """The driver form of UTC datetimes given as their `isoformat()` text, if it is text.

    For SQLite: SQLAlchemy's "%04d-%02d-%02d %02d:%02d:%02d.%06d" of the naive UTC time, cut
    from the ISO text (which drops a zero microsecond) so each time is formatted once for the
    bind and the audit snapshot. None for a backend binding datetime objects (PostgreSQL).
    `isos` must be `isoformat()` of datetimes in UTC (tzinfo is UTC): "…+00:00".
    """
    if dialect.name != "sqlite":
        return None
    return [
        s[:26].replace("T", " ") if len(s) == 32 else s[:19].replace("T", " ") + ".000000"
        for s in isos
    ]


@cache
def _statement(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[tuple[int, Processor, bool], ...]]:
    """The INSERT text and (position, bind processor, is an enum) of each column with one."""
    columns = [table.c[name] for name in names]
    quote = dialect.identifier_preparer.quote
    mark = _MARKS[dialect.paramstyle]
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(c.name) for c in columns)}) VALUES ({', '.join([mark] * len(names))})"
    )
    processors = []
    for i, column in enumerate(columns):
        process: Processor | None = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and isinstance(column.type, UTCDateTime):
            process = _utc_processor(process, dialect)
        if process is not None:
            processors.append((i, process, isinstance(column.type, SAEnum)))
    return sql, tuple(processors)


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
