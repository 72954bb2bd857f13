"""services.ingest: units converted once and stored canonical; a bad batch writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from neurocart.ingest import ObservationIn
from neurocart.services.errors import BatchValidationError, InvalidInputError
from neurocart.services.ingest import ingest_observation, ingest_observations
from neurocart.store import AuditEntry, Observation, audit, repo
from neurocart.store.errors import BatchTooLargeError, NotFoundError

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)


def row(i: int = 0, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "code": "8310-5",
        "value": 37.0,
        "unit": "Cel",
        "effective_at": (T0 + timedelta(hours=i)).isoformat(),
        "source": "bedside",
    }
    return base | overrides


def count(database, model) -> int:
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_batch_is_stored_in_canonical_units_and_audited(database, nurse, mg_patient):
    rows = [
        row(0, value=101.3, unit="°F"),
        row(1, code="777-3", value=150_000, unit="/µL", specimen=None),
        ObservationIn(code="2160-0", value=1.0, unit="mg/dL", effective_at=T0, source="lab"),
    ]
    with database.transaction() as session:
        ids = ingest_observations(session, nurse, mg_patient.id, rows)
    assert len(ids) == 3
    with database.reading() as session:
        stored = [repo.get_observation(session, i) for i in ids]
        assert [(o.code, o.value, o.unit) for o in stored] == [
            ("8310-5", 38.5, "°C"),
            ("777-3", 150.0, "×10⁹/L"),
            ("2160-0", 88.42, "µmol/L"),
        ]
        assert [o.specimen.value for o in stored] == ["other", "blood", "serum"]
        assert all(o.entered_by == nurse.id for o in stored)
        (entry,) = repo.audit_trail(session, "observation", ids[1])
        assert (entry.action, entry.actor, entry.entity_id) == ("create_batch", "nurse", ids[0])
        assert [i for i, _ in audit.batch_rows(entry.new)] == ids  # one entry for the batch
        assert audit.verify(session).ok


def test_one_bad_row_writes_nothing_and_every_bad_row_is_named(database, nurse, mg_patient):
    rows = [row(i) for i in range(60)]
    rows[3] = row(3, unit="furlongs")
    rows[57] = row(57, value=60.0)  # 60 °C: impossible
    rows[58] = row(58, code="no-such-code")
    before = count(database, AuditEntry)
    with pytest.raises(BatchValidationError) as caught, database.transaction() as session:
        ingest_observations(session, nurse, mg_patient.id, rows)
    error = caught.value
    assert error.locations == [
        "observations[3].unit",
        "observations[57].value",
        "observations[58].code",
    ]
    assert error.rows == [3, 57, 58]
    assert "observations[57].value" in str(error)
    assert "physiologically possible" in str(error)
    assert error.problems[0].got == "furlongs"
    assert count(database, Observation) == 0
    assert count(database, AuditEntry) == before


def test_malformed_mapping_rows_are_named(database, nurse, mg_patient):
    bad = row(1) | {"effective_at": "2025-03-01T08:00:00"}  # no time zone
    extra = row(2) | {"colour": "red"}
    with pytest.raises(BatchValidationError) as caught, database.transaction() as session:
        ingest_observations(session, nurse, mg_patient.id, [row(0), bad, extra, "x"])
    assert caught.value.locations == [
        "observations[1].effective_at",
        "observations[2].colour",
        "observations[3].(row)",
    ]


def test_batch_limit(database, nurse, mg_patient):
    """Checked once, where every batch is written (the store); nothing is stored."""
    with pytest.raises(BatchTooLargeError) as caught, database.transaction() as session:
        ingest_observations(session, nurse, mg_patient.id, [row(i) for i in range(4)], limit=3)
    assert caught.value.field == "observations"
    assert caught.value.got == 4
    with database.transaction() as session:
        assert len(ingest_observations(session, nurse, mg_patient.id, [row(0)], limit=1)) == 1


def test_batch_limit_defaults_to_settings(database, nurse, mg_patient, monkeypatch):
    from neurocart.config import get_settings

    monkeypatch.setenv("NEUROCART_MAX_BATCH_OBSERVATIONS", "2")
    get_settings.cache_clear()
    try:
        with pytest.raises(BatchTooLargeError), database.transaction() as session:
            ingest_observations(session, nurse, mg_patient.id, [row(i) for i in range(3)])
    finally:
        get_settings.cache_clear()


def test_unknown_patient_is_named(database, nurse):
    with pytest.raises(NotFoundError) as caught, database.transaction() as session:
        ingest_observations(session, nurse, 999, [row(0)])
    assert caught.value.field == "patient_id"


def test_empty_batch_is_a_no_op(database, nurse, mg_patient):
    with database.transaction() as session:
        assert ingest_observations(session, nurse, mg_patient.id, []) == []


def test_single_row(database, nurse, mg_patient):
    with database.transaction() as session:
        obs = ingest_observation(session, nurse, mg_patient.id, row(0, value=98.6, unit="[degF]"))
        assert (obs.value, obs.unit) == (37.0, "°C")
    with pytest.raises(InvalidInputError) as caught, database.transaction() as session:
        ingest_observation(session, nurse, mg_patient.id, row(0, unit="mg"))
    assert caught.value.locations == ["unit"]
    model = ObservationIn(code="8310-5", value=3.7, unit="Cel", effective_at=T0, source="x")
    with pytest.raises(InvalidInputError) as caught, database.transaction() as session:
        ingest_observation(session, nurse, mg_patient.id, model)
    assert caught.value.locations == ["value"]
    assert count(database, Observation) == 1


def test_qualitative_results_are_zero_or_one(database, nurse, mg_patient):
    serology = {"code": "16933-4", "unit": "{result}"}
    with database.transaction() as session:
        ids = ingest_observations(
            session,
            nurse,
            mg_patient.id,
            [row(0, value=1, **serology), row(1, value=0, **serology)],
        )
    assert len(ids) == 2
    with pytest.raises(BatchValidationError) as caught, database.transaction() as session:
        ingest_observations(session, nurse, mg_patient.id, [row(0, value=0.5, **serology)])
    assert caught.value.locations == ["observations[0].value"]


def test_model_batch_goes_column_by_column_and_reads_back_exactly(database, nurse, mg_patient):
    """A batch of models (the API's) is normalized and stored column by column: times in any
    zone, with and without microseconds, and -0.0 read back as the row-by-row path gives them.
    """
    from neurocart.ingest import normalize_batch
    from neurocart.ingest.validate import _normalize_models

    plus_two, zero = timezone(timedelta(hours=2)), timezone(timedelta(0))
    times = [
        T0,
        (T0 + timedelta(microseconds=1)).astimezone(plus_two),
        T0.astimezone(zero),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    rows = [
        ObservationIn(code="8310-5", value=98.6, unit="[degF]", effective_at=times[0], source="s"),
        ObservationIn(code="751-8", value=-0.0, unit="10*3/uL", effective_at=times[1], source="s"),
        ObservationIn(code="8867-4", value=61.0, unit="/min", effective_at=times[2], source="s"),
        ObservationIn(code="2160-0", value=1.0, unit="mg/dL", effective_at=times[3], source="s"),
    ]
    assert _normalize_models(rows) is not None  # the column path takes them
    with database.transaction() as session:
        ids = ingest_observations(session, nurse, mg_patient.id, rows)
    expected, _ = normalize_batch(rows)
    with database.reading() as session:
        stored = [repo.get_observation(session, i) for i in ids]
        assert [(o.value, o.unit, o.effective_at) for o in stored] == [
            (e.value + 0.0, e.unit, e.effective_at) for e in expected
        ]
        assert [o.effective_at for o in stored] == times
        assert audit.verify(session).ok
