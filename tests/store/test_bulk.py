"""bulk: the faster UTC timestamp texts are exactly SQLAlchemy's binding and `isoformat`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.orm import Session

from neurocart.store.bulk import (
    _holds_one,
    _literal,
    _processors,
    insert_columns,
    upsert_returning,
    utc_texts,
)
from neurocart.store.models import MonitorStatus, Observation, Specimen
from tests.store.factories import T0, patient

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
    processors = _processors(table, names, dialect)
    by_name = {names[i]: process for i, (process, _) in processors.items()}
    slow = table.c.effective_at.type.dialect_impl(dialect).bind_processor(dialect)
    for t in TIMES:
        assert by_name["effective_at"](t) == slow(t)
    with pytest.raises(ValueError, match="naive"):
        by_name["effective_at"](datetime(2025, 3, 1))
    assert by_name["specimen"](Specimen.CSF) == "csf"


DIALECTS = [sqlite.dialect(), psycopg.dialect()]


def _check_utc_texts(times: list[datetime]) -> None:
    """Both forms of `utc_texts` equal isoformat and SQLAlchemy's own binding, per dialect."""
    for dialect in DIALECTS:
        texts = utc_texts(dialect, times)
        assert texts.json == [f'"{t.isoformat()}"' for t in times]
        slow = Observation.__table__.c.effective_at.type.dialect_impl(dialect).bind_processor(
            dialect
        )
        if dialect.name == "sqlite":
            assert texts.bound == [slow(t) for t in times]
        else:  # psycopg binds the datetime itself
            assert texts.bound is None


def test_utc_texts_equal_isoformat_and_sqlalchemys_binding():
    utc = [t.astimezone(UTC) for t in TIMES]
    edges = [
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before the epoch
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2024, 2, 29, 12, 0, 0, 100000, tzinfo=UTC),
        datetime(2025, 3, 1, 8, 0, 0, 5, tzinfo=timezone(timedelta(0))),  # a zero offset
    ]
    _check_utc_texts(utc + edges)
    _check_utc_texts([])
    assert utc_texts(sqlite.dialect(), []).bound == []


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
        ).map(lambda t: t.replace(tzinfo=UTC))
        | st.datetimes().map(lambda t: t.replace(microsecond=0, tzinfo=UTC)),
        max_size=30,
    )
)
def test_utc_texts_equal_isoformat_for_any_time(times: list[datetime]) -> None:
    _check_utc_texts(times)


# --- constant columns written as literals -------------------------------------------------

PLAIN = "http://loinc.org"
TRICKY_TEXTS = [PLAIN, "", "O'Brien", "100%", "a\\b", "µg/L ×10⁹", '"quoted"', "x; DROP TABLE"]


def _copy(text: str) -> str:
    """An equal str that is (from 2 characters on) another object."""
    return (text + "#")[:-1]


def test_a_column_holds_one_value_only_if_of_one_type():
    at = datetime(2025, 3, 1, tzinfo=UTC)
    ab = "ab"
    assert _holds_one([ab, _copy(ab)], ab)
    assert _copy(ab) is not ab
    assert _holds_one([None, None], None)
    assert _holds_one([at, at], at)
    assert not _holds_one([1, 1.0, True], 1)  # equal, but stored otherwise
    assert not _holds_one(["blood", Specimen.BLOOD], "blood")
    assert not _holds_one([0.0, -0.0], 0.0)
    assert not _holds_one([at, at.astimezone(timezone(timedelta(hours=2)))], at)
    assert not _holds_one(["a", "b", "a"], "a")


@pytest.mark.parametrize("dialect", DIALECTS, ids=["sqlite", "pg"])
def test_only_exactly_spelled_values_become_literals(dialect):
    sqlite_only = "'x'" if dialect.name == "sqlite" else None
    for text in (True, False):
        assert _literal(None, dialect, text=text) == "NULL"
        assert _literal(-42, dialect, text=text) == "-42"
        assert _literal(True, dialect, text=text) == "TRUE"
        for value in ["O'Brien", "100%", "a\\b", "µ", "x\x00", 1.5, datetime(2025, 3, 1)]:
            assert _literal(value, dialect, text=text) is None
    assert _literal("x", dialect, text=True) == sqlite_only  # a value the caller set
    assert _literal("x", dialect, text=False) is None  # a client's text is always bound


def test_constant_columns_read_back_as_if_bound(database, admin):
    """Rows whose constant columns went in as literals equal rows SQLAlchemy itself bound."""
    table = Observation.__table__
    with database.transaction() as session:
        p = patient(session, admin)
    fixed = {
        "patient_id": p.id,
        "entered_by": admin.id,
        "recorded_at": datetime(2025, 3, 2, 9, 30, 0, 250, tzinfo=UTC),
        "supersedes_id": None,
        "correction_reason": None,
        "entered_in_error": False,
    }
    statements: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    for k, text_value in enumerate(TRICKY_TEXTS):
        ids = [1000 * (k + 1) + i for i in range(3)]
        varying = {
            "id": ids,
            "code": ["8310-5", "8867-4", "8310-5"],
            "value": [37.5, 80.0, 0.0],
            "unit": ["°C", "/min", "°C"],
            "specimen": [Specimen.OTHER] * 3,
            "effective_at": [T0, T0 + timedelta(microseconds=5), T0],
            "code_system": [text_value] * 3,
            "source": [_copy(text_value) for _ in range(3)],  # equal, not the same object
        }
        statements.clear()
        event.listen(database.engine, "before_cursor_execute", keep)
        try:
            with database.transaction() as session:
                insert_columns(session, table, list(varying), list(varying.values()), fixed)
        finally:
            event.remove(database.engine, "before_cursor_execute", keep)
        (written,) = [s for s in statements if s.startswith("INSERT")]
        assert "NULL" in written  # the constant columns went in as literals
        assert f"'{PLAIN}'" not in written  # a client's text is bound, even when constant
        rows = [dict(zip(varying, r, strict=True)) for r in zip(*varying.values(), strict=True)]
        with database.transaction() as session:  # the reference: SQLAlchemy binds every value
            session.execute(insert(table), [r | fixed | {"id": r["id"] + 500} for r in rows])
        with database.reading() as session:
            stored = session.execute(select(table).where(table.c.id.in_(ids))).mappings().all()
            bound = session.execute(
                select(table).where(table.c.id.in_([i + 500 for i in ids]))
            ).mappings()
            assert [r | {"id": r["id"] + 500} for r in map(dict, stored)] == list(map(dict, bound))
        assert [r["source"] for r in stored] == [text_value] * 3


def test_rows_of_nothing_but_literals_are_all_written():
    metadata = MetaData()
    table = Table("t", metadata, Column("a", Integer), Column("b", String), Column("c", String))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        insert_columns(session, table, ["a", "b"], [[1, 1, 1], ["x", "x", "x"]], {"c": None})
        assert session.execute(select(table)).all() == [(1, "x", None)] * 3


COPY_TEXTS = [*TRICKY_TEXTS, "tab\there", "line\nbreak", "\\N", "back\\\\slash", "\r"]


def test_a_large_batch_reads_back_as_if_bound(database, admin, monkeypatch):
    """A batch big enough for COPY (PostgreSQL) equals rows SQLAlchemy itself bound."""
    import neurocart.store.bulk as bulk

    copied: list[int] = []
    real = bulk._copy_columns
    monkeypatch.setattr(
        bulk, "_copy_columns", lambda *a, **k: copied.append(len(a[3][0])) or real(*a, **k)
    )
    table = Observation.__table__
    with database.transaction() as session:
        p = patient(session, admin)
    n = len(COPY_TEXTS) * 2
    ids = list(range(5000, 5000 + n))
    varying = {
        "id": ids,
        "patient_id": [p.id] * n,
        "code": ["8310-5", "8867-4"] * (n // 2),
        "value": [37.5 + i / 7 for i in range(n)],
        "unit": ["°C", "/min"] * (n // 2),
        "specimen": [Specimen.OTHER, Specimen.CSF] * (n // 2),
        "effective_at": [T0 + timedelta(microseconds=i) for i in range(n)],
        "code_system": COPY_TEXTS * 2,
        "source": [_copy(t) for t in COPY_TEXTS] * 2,
    }
    fixed = {
        "entered_by": admin.id,
        "recorded_at": datetime(2025, 3, 2, 9, 30, 0, 250, tzinfo=UTC),
        "supersedes_id": None,
        "correction_reason": None,
        "entered_in_error": False,
    }
    with database.transaction() as session:
        insert_columns(session, table, list(varying), list(varying.values()), fixed)
    assert copied == ([n] if database.engine.dialect.name == "postgresql" else [])
    rows = [dict(zip(varying, r, strict=True)) for r in zip(*varying.values(), strict=True)]
    with database.transaction() as session:
        session.execute(insert(table), [r | fixed | {"id": r["id"] + 500} for r in rows])
    with database.reading() as session:
        stored = session.execute(select(table).where(table.c.id.in_(ids))).mappings().all()
        bound = session.execute(
            select(table).where(table.c.id.in_([i + 500 for i in ids])).order_by(table.c.id)
        ).mappings()
        stored = sorted(map(dict, stored), key=lambda r: r["id"])
        assert [r | {"id": r["id"] + 500} for r in stored] == list(map(dict, bound))


def test_a_large_batch_takes_timestamps_already_bound_as_text(database, admin):
    """A column given in the driver's form (ISO text, as `utc_texts` makes it) goes in as it
    would be bound, COPY or not."""
    table = Observation.__table__
    with database.transaction() as session:
        p = patient(session, admin)
    n = 20
    times = [T0 + timedelta(minutes=i) for i in range(n)]
    names = ["id", "patient_id", "code", "code_system", "value", "unit", "specimen"]
    columns = [
        list(range(9500, 9500 + n)), [p.id] * n, ["8310-5"] * n, ["http://loinc.org"] * n,
        [37.0] * n, ["°C"] * n, [Specimen.OTHER] * n,
    ]  # fmt: skip
    fixed = {"source": "test", "entered_by": admin.id, "recorded_at": T0, "entered_in_error": False}
    texts = [t.isoformat() for t in times]
    with database.transaction() as session:
        insert_columns(session, table, [*names, "effective_at"], [*columns, times], fixed,
                       {"effective_at": texts})  # fmt: skip
    with database.reading() as session:
        stored = session.scalars(
            select(table.c.effective_at).where(table.c.id >= 9500).order_by(table.c.id)
        ).all()
    assert stored == times


def test_a_copied_batch_rolls_back_with_its_transaction(database, admin):
    table = Observation.__table__
    with database.transaction() as session:
        p = patient(session, admin)
    n = 20
    names = ["id", "patient_id", "code", "code_system", "value", "unit", "specimen"]
    columns = [
        list(range(9000, 9000 + n)), [p.id] * n, ["8310-5"] * n, ["http://loinc.org"] * n,
        [37.0] * n, ["°C"] * n, [Specimen.OTHER] * n,
    ]  # fmt: skip
    fixed = {
        "effective_at": T0, "source": "test", "entered_by": admin.id, "recorded_at": T0,
        "entered_in_error": False,
    }  # fmt: skip

    def write_then_fail() -> None:
        with database.transaction() as session:
            insert_columns(session, table, names, columns, fixed)
            raise RuntimeError("after the batch")

    with pytest.raises(RuntimeError, match="after the batch"):
        write_then_fail()
    with database.reading() as session:
        assert session.execute(select(table).where(table.c.id >= 9000)).all() == []


def test_upsert_inserts_new_rows_and_replaces_existing_ones_in_place(database, admin):
    """Rows of keys already stored are replaced column by column, new keys inserted, and
    what comes back is every column exactly as a read gives it."""
    table = MonitorStatus.__table__
    with database.transaction() as session:
        a, b = patient(session, admin), patient(session, admin, "NC-002")

    def row(p, grade: int, at: datetime) -> dict:
        return {
            "patient_id": p.id, "study_id": p.study_id, "crs_grade": grade,
            "crs_source": "derived", "crs_at": at, "crs_by": None, "icans_grade": None,
            "icans_source": None, "icans_at": None, "icans_by": None, "updated_at": at,
        }  # fmt: skip

    with database.transaction() as session:
        first = upsert_returning(session, table, [row(a, 1, T0)])
    assert [r.crs_grade for r in first] == [1]
    later = T0 + timedelta(hours=3)
    with database.transaction() as session:
        returned = upsert_returning(session, table, [row(a, 3, later), row(b, 2, later)])
    with database.reading() as session:
        stored = {r.patient_id: r for r in session.execute(select(*table.columns))}
    assert len(stored) == 2
    assert {r.patient_id: tuple(r) for r in returned} == {k: tuple(v) for k, v in stored.items()}
    assert (stored[a.id].crs_grade, stored[a.id].crs_at, stored[a.id].updated_at) == (
        3, later, later,
    )  # fmt: skip
    with database.transaction() as session:
        assert upsert_returning(session, table, []) == []
