"""bulk: the faster UTC timestamp binding is exactly SQLAlchemy's, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg

from neurocart.store.bulk import _statement, bind_utc_isoformat
from neurocart.store.models import Observation, Specimen

TIMES = [
    datetime(2025, 3, 1, 8, tzinfo=UTC),
    datetime(2025, 3, 1, 8, 0, 0, 5, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2025, 3, 1, 10, 0, 0, 7, tzinfo=timezone(timedelta(hours=2))),
]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), psycopg.dialect()], ids=["sqlite", "pg"])
def test_fast_bindings_equal_sqlalchemys(dialect):
    table = Observation.__table__
    names = ("effective_at", "specimen")
    _, processors = _statement(table, names, dialect)
    by_name = {names[i]: process for i, process, _ in processors}
    slow = table.c.effective_at.type.dialect_impl(dialect).bind_processor(dialect)
    for t in TIMES:
        assert by_name["effective_at"](t) == slow(t)
    with pytest.raises(ValueError, match="naive"):
        by_name["effective_at"](datetime(2025, 3, 1))
    assert by_name["specimen"](Specimen.CSF) == "csf"


@pytest.mark.parametrize("dialect", [sqlite.dialect(), psycopg.dialect()], ids=["sqlite", "pg"])
def test_binding_from_the_isoformat_equals_sqlalchemys(dialect):
    slow = Observation.__table__.c.effective_at.type.dialect_impl(dialect).bind_processor(dialect)
    utc = [t.astimezone(UTC) for t in TIMES]
    bound = bind_utc_isoformat(dialect, [t.isoformat() for t in utc])
    if dialect.name == "sqlite":
        assert bound == [slow(t) for t in utc]
    else:  # psycopg binds the datetime itself
        assert bound is None
