"""Batch INSERTs at driver speed that still bind every value through its column's type.

SQLAlchemy's executemany spends most of a 1,000-row batch building and processing a
parameter dict per row; here each column's bind processor is looked up once and the driver's
own `executemany` does the rest. Values are bound exactly as SQLAlchemy would bind them
(UTC timestamps, enum values, booleans), so rows read back identically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (all with the same keys, in the same order) in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    quote = dialect.identifier_preparer.quote
    mark = _MARKS[dialect.paramstyle]
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(c.name) for c in columns)}) VALUES ({', '.join([mark] * len(names))})"
    )
    bound = [(i, p) for i, p in enumerate(processors) if p is not None]
    memo: dict[int, tuple[Any, Any]] = {}
    params = []
    for row in rows:
        values = [row[name] for name in names]
        for i, process in bound:
            value = values[i]
            seen = memo.get(i)
            if seen is not None and seen[0] is value:  # e.g. one recorded_at for the batch
                values[i] = seen[1]
            else:
                values[i] = process(value)
                memo[i] = (value, values[i])
        params.append(tuple(values))
    connection.exec_driver_sql(sql, params)
