"""normalize_batch: equal to one-by-one, every bad row reported with its index, never raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from neurocart.ingest import (
    BatchResult,
    NormalizedObservation,
    ObservationError,
    ObservationIn,
    RowError,
    codes,
    normalize_batch,
    normalize_observation,
)
from neurocart.ingest.validate import NormalizedColumns, _normalize_models, normalize_columns

AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def row(code: str = "8310-5", value: float = 37.0, unit: str = "°C", **kw: Any) -> ObservationIn:
    return ObservationIn(code=code, value=value, unit=unit, effective_at=AT, source="t", **kw)


def test_empty() -> None:
    assert normalize_batch([]) == BatchResult([], [])
    assert normalize_batch([]).ok
    columns, errors = normalize_columns([])
    assert (len(columns), columns.rows(), errors) == (0, [], [])


def test_bad_rows_are_reported_by_index_and_good_rows_kept_in_order() -> None:
    rows: list[Any] = [
        row(value=98.6, unit="°F"),
        row(value=60.0),
        row("777-3", 150_000, "/µL"),
        row("751-8", 50, "%"),
        {"code": "718-7", "value": 12.5, "unit": "g/dL", "effective_at": "2025-03-01T08:00Z",
         "source": "lab"},
        {"code": "718-7", "value": 12.5, "unit": "g/dL", "effective_at": "2025-03-01T08:00",
         "source": "lab", "extra": 1},
        "not a row",
    ]  # fmt: skip
    normalized, errors = normalize_batch(rows)
    assert [(n.code, n.value) for n in normalized] == [
        ("8310-5", 37.0),
        ("777-3", 150.0),
        ("718-7", 125.0),
    ]
    assert [(e.index, e.field) for e in errors] == [
        (1, "value"),
        (3, "unit"),
        (5, "effective_at"),
        (5, "extra"),
        (6, "(row)"),
    ]
    assert errors[0].location() == "observations[1].value"
    assert str(errors[3]) == "observations[5].extra: unknown field"
    assert normalize_batch(rows).rejected == [1, 3, 5, 6]


def _strategy_rows() -> st.SearchStrategy[ObservationIn]:
    entries = codes()

    @st.composite
    def build(draw: st.DrawFn) -> ObservationIn:
        entry = draw(st.sampled_from(entries))
        code, system = entry.code, entry.system
        if draw(st.integers(0, 9)) == 0:  # sometimes a code that does not exist
            code = draw(st.sampled_from(["0000-0", "local:car_t_cells_csf", "8310-5"]))
            system = draw(st.sampled_from(["http://loinc.org", "urn:neurocart:local"]))
        units = [*entry.units.accepted, "furlongs", "%"]
        unit = draw(st.sampled_from(units))
        value = draw(
            st.one_of(
                st.floats(entry.low, entry.high),
                st.floats(-1e7, 1e8, allow_nan=False, allow_infinity=False),
            )
        )
        specimen = draw(st.sampled_from([None, "blood", "csf", "serum", "other"]))
        minutes = draw(st.integers(-10_000, 10_000))
        return ObservationIn(
            code=code,
            code_system=system,
            value=value,
            unit=unit,
            specimen=specimen,
            effective_at=AT + timedelta(minutes=minutes),
            source="hypothesis",
        )

    return build()


def _one_by_one(
    rows: list[ObservationIn],
) -> tuple[list[NormalizedObservation], list[RowError]]:
    normalized, errors = [], []
    for i, r in enumerate(rows):
        try:
            normalized.append(normalize_observation(r))
        except ObservationError as exc:
            errors.append(RowError(i, exc.field, exc.message, exc.got))
    return normalized, errors


@given(st.lists(_strategy_rows(), max_size=40))
def test_batch_equals_one_by_one(rows: list[ObservationIn]) -> None:
    batch = normalize_batch(rows)
    assert (batch.normalized, batch.errors) == _one_by_one(rows)
    assert len(batch.normalized) + len(batch.rejected) == len(rows)


@given(st.lists(_strategy_rows(), max_size=20))
def test_mappings_and_models_give_the_same_result(rows: list[ObservationIn]) -> None:
    as_dicts = [r.model_dump(mode="json") for r in rows]
    assert normalize_batch(as_dicts) == normalize_batch(rows)


def test_ten_thousand_rows() -> None:
    rows = [row("777-3", 150_000 + i, "/µL") for i in range(10_000)]
    normalized, errors = normalize_batch(rows)
    assert not errors
    assert len(normalized) == 10_000
    assert normalized[-1].value == 159.999


def _valid_rows() -> st.SearchStrategy[ObservationIn]:
    """Rows that all normalize (so a batch of them takes the column-by-column path)."""
    zones = [
        UTC,
        timezone(timedelta(0)),  # equals UTC, but is not it: converted like the others
        timezone(timedelta(hours=2)),
        timezone(timedelta(hours=-5, minutes=-30)),
    ]

    @st.composite
    def build(draw: st.DrawFn) -> ObservationIn:
        entry = draw(st.sampled_from(codes()))
        unit = draw(st.sampled_from(entry.units.accepted))
        conversion = entry.units.find(unit)
        assert conversion is not None
        canonical = draw(
            st.sampled_from(entry.values)
            if entry.values
            else st.floats(entry.low, entry.high, allow_nan=False)
        )
        value = conversion.from_canonical(canonical)
        specimen = draw(st.sampled_from([None, *entry.specimens]))
        at = AT + timedelta(minutes=draw(st.integers(-10_000, 10_000)))
        return ObservationIn(
            code=entry.code,
            code_system=entry.system,
            value=value,
            unit=unit,
            specimen=specimen,
            effective_at=at.astimezone(draw(st.sampled_from(zones))),
            source="hypothesis",
            note=draw(st.sampled_from([None, "n"])),
        )

    return build()


def _exactly(normalized: list[NormalizedObservation]) -> list[tuple[Any, ...]]:
    """Each field with its type and repr, so -0.0 ≠ 0.0 and a str ≠ a Specimen."""
    return [tuple((type(v), repr(v)) for v in n) for n in normalized]


@given(st.lists(_valid_rows(), max_size=40))
def test_column_path_equals_one_by_one_exactly(rows: list[ObservationIn]) -> None:
    expected, expected_errors = _one_by_one(rows)
    assert not expected_errors
    assert _normalize_models(rows) is not None  # the column path ran
    batch = normalize_batch(rows)
    assert _exactly(batch.normalized) == _exactly(expected)
    assert batch.errors == expected_errors
    columns, errors = normalize_columns(rows)
    assert (len(columns), errors) == (len(rows), [])
    assert _exactly(columns.rows()) == _exactly(expected)


@given(st.lists(_strategy_rows(), max_size=30), st.booleans())
def test_columns_are_the_batch_column_by_column(rows: list[ObservationIn], as_dicts: bool) -> None:
    """Whatever path a batch takes (columns, rows, mappings), the columns hold its rows."""
    raw: list[Any] = [r.model_dump(mode="json") for r in rows] if as_dicts else rows
    expected = normalize_batch(raw)
    columns, errors = normalize_columns(raw)
    assert errors == expected.errors
    assert _exactly(columns.rows()) == _exactly(expected.normalized)
    by_rows = NormalizedColumns.from_rows(expected.normalized)
    for name in NormalizedObservation._fields:
        assert list(getattr(columns, name)) == list(getattr(by_rows, name))


def test_column_path_gives_way_to_the_row_path_for_every_error() -> None:
    good = [
        row(value=98.6, unit="°F"),
        row("777-3", 150_000, "/µL"),
        row("777-3", 9, "10*9/L", specimen="blood"),
    ]
    naive = ObservationIn.model_construct(
        **{**row().model_dump(), "effective_at": AT.replace(tzinfo=None)}
    )
    for bad, field in [
        (row(value=60.0), "value"),
        (row(unit="furlongs"), "unit"),
        (row(specimen="serum"), "specimen"),
        (row(code="0000-0"), "code"),
        (naive, "effective_at"),
    ]:
        normalized, errors = normalize_batch([*good, bad, *good])
        assert [(e.index, e.field) for e in errors] == [(3, field)]
        assert normalized == _one_by_one(good * 2)[0]


def test_the_column_path_reads_every_field_of_the_model() -> None:
    from neurocart.ingest import validate

    assert set(validate._FIELD_NAMES) == set(ObservationIn.model_fields)
