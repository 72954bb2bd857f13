"""Query results read column by column into numpy arrays, for reads of a million rows.

A cohort read for the analysis takes about a million observations and half a million
assessments out of the store (`neurocart.store.export`). Row objects, a frame built from
object columns (pandas copies them into one block) and a cast of each text cell to the text
dtype afterwards each cost as much as the query; so the driver's rows are taken apart into
one array per column, and the columns of few distinct values (codes, units, specimens,
instruments, labels, JSON inputs) are read as codes into their distinct values: each distinct
value is converted once, not once per row.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.extensions import ExtensionArray
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    cast,
    func,
    literal,
    type_coerce,
)
from sqlalchemy.orm import Session

from neurocart.frames import STR

Objects = npt.NDArray[np.object_]

SEPARATOR = "\x1f"
"""Joins the texts of one row (`joined`): the ASCII unit separator, in no code, unit or name."""


def select_columns(
    session: Session, query: Select[Any], names: Sequence[str]
) -> dict[str, Objects]:
    """The query's rows as one object array per selected column (named `names`).

    Only the columns whose type converts driver values (dates on SQLite, say) go through
    their type's result processor, once per value; the others are the driver's values.
    """
    connection = session.connection()
    dialect = connection.dialect
    result = connection.execute(query)
    try:
        cursor = result.cursor
        codes = [d[1] for d in cursor.description]  # the DB-API type of each column
        processors = [
            c.type.dialect_impl(dialect).result_processor(dialect, code)
            for c, code in zip(query.selected_columns, codes, strict=True)
        ]
        rows = cursor.fetchall()
    finally:
        result.close()
    out: dict[str, Objects] = {}
    for i, (name, process) in enumerate(zip(names, processors, strict=True)):
        cells = map(itemgetter(i), rows)  # one column at a time: no transposed copy of all
        if process is not None:
            cells = map(process, cells)
        out[name] = np.fromiter(cells, dtype=object, count=len(rows))
    return out


def factorized(values: Objects) -> tuple[npt.NDArray[np.intp], Objects]:
    """Codes (-1 = missing) and the distinct values, in order of first appearance.

    Factorizing the object array itself is ~3× faster than through the text dtype.
    """
    codes, uniques = pd.factorize(values)
    return codes, np.asarray(uniques, dtype=object)


def texts(values: Objects) -> ExtensionArray:
    """A column of texts (None = missing) in the frames' text dtype (`frames.STR`), each
    distinct text validated once: the same array as `pd.array(values, dtype=STR)`."""
    codes, uniques = factorized(values)
    return pd.array(uniques, dtype=STR).take(codes, allow_fill=True)


def json_values(values: Objects) -> Objects:
    """A column of JSON texts (None = JSON null) parsed: each distinct text once, in one
    `json.loads` of their array. Rows of the same text share the parsed object (ICANS's
    274,000 assessments of a 10,000-patient cohort hold 16 distinct inputs): the values are
    for reading, as the frames' dicts always are; whoever edits one copies it first."""
    codes, uniques = factorized(values)
    parsed = json.loads("[" + ",".join(uniques.tolist()) + "]") if len(uniques) else []
    table = np.empty(len(uniques) + 1, dtype=object)
    table[: len(uniques)] = parsed
    table[-1] = None  # the missing texts (code -1)
    out: Objects = table[codes]
    return out


def integers(values: Objects) -> npt.NDArray[np.int64]:
    """A column of integers the database never leaves empty (ids), as int64."""
    return np.fromiter(values, dtype=np.int64, count=len(values))


def joined(*columns: Any) -> ColumnElement[str]:
    """Text columns that are never NULL as one text, joined by `SEPARATOR` in the database:
    the driver then makes one string per row instead of one per column, and `split_texts`
    takes the few distinct joined texts apart (a tenth of the read of a million
    observations' code, unit and specimen)."""
    text: Any = type_coerce(columns[0], String())
    for column in columns[1:]:
        text = text + literal(SEPARATOR, String()) + type_coerce(column, String())
    return type_coerce(text, String())


def split_texts(values: Objects, count: int) -> list[ExtensionArray] | None:
    """The `count` text columns of a `joined` column, as `texts` makes them; None when a
    text holds the separator itself (then nothing tells its parts apart: read them apart)."""
    codes, uniques = factorized(values)
    parts = [str(u).split(SEPARATOR) for u in uniques.tolist()]
    if any(len(p) != count for p in parts):
        return None
    return [
        pd.array(np.array([p[i] for p in parts], dtype=object), dtype=STR).take(
            codes, allow_fill=True
        )
        for i in range(count)
    ]


def instant(session: Session, column: Any) -> Any:
    """A timestamp column in the form that parses fastest: on PostgreSQL microseconds since
    the epoch (an integer, not a datetime object per row), on SQLite its naive UTC text."""
    if session.get_bind().dialect.name == "postgresql":
        micros = func.extract("epoch", column) * 1_000_000
        return type_coerce(cast(func.round(micros), BigInteger), Integer()).label(column.key)
    return type_coerce(column, String()).label(column.key)


def naive_utc(texts: Objects) -> npt.NDArray[np.datetime64] | None:
    """SQLite's naive UTC texts parsed by numpy (~8× faster than pandas' ISO 8601 parser at
    the same microsecond); None when a text carries an offset or does not parse (pandas then
    reads them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy only warns of a time-zone offset
        try:
            return np.array(texts, dtype="datetime64[us]")
        except (ValueError, DeprecationWarning, UserWarning):
            return None


def instant_micros(values: Objects) -> npt.NDArray[np.int64]:
    """An `instant` column the database never leaves empty as microseconds since the epoch
    (UTC): the same instants SQLAlchemy's UTC timestamp type reads, without a datetime per row."""
    if not len(values) or not isinstance(values[0], str):
        return np.fromiter(values, dtype=np.int64, count=len(values))
    naive = naive_utc(values)
    if naive is None:  # a text with an offset: pandas reads it
        stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
        naive = stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return naive.view(np.int64)
