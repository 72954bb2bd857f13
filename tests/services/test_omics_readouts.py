"""Single-cell readouts stored as observations through the one ingest path: the catalogue's
local codes, the study day turned into a date, all or nothing on a bad sample. Needs no
scanpy: the readouts are a plain table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from neurocart.ingest import by_key
from neurocart.omics.observations import CODES, readout_rows
from neurocart.services.errors import InvalidInputError
from neurocart.services.omics_readouts import store_readouts
from neurocart.store import Database, Patient, User, repo
from neurocart.store.errors import NotFoundError
from neurocart.studyday import study_day
from tests.store.factories import patient

READOUTS = pd.DataFrame([
    {"sample_id": "B7", "study_id": "NC-001", "tissue": "blood", "study_day": 7, "n_cells": 900,
     "car_pct_of_t": 12.5, "b_cell_pct": 0.0, "plasma_cell_pct": 0.0,
     "expanded_clone_pct": 30.0, "csf_blood_car_ratio": np.nan,
     "csf_blood_overlap_pct": np.nan, "product_overlap_pct": 20.0},
    {"sample_id": "C7", "study_id": "NC-001", "tissue": "csf", "study_day": 7, "n_cells": 300,
     "car_pct_of_t": 25.0, "b_cell_pct": 0.5, "plasma_cell_pct": np.nan,
     "expanded_clone_pct": 40.0, "csf_blood_car_ratio": 2.0,
     "csf_blood_overlap_pct": 35.123456, "product_overlap_pct": 22.0},
    {"sample_id": "PR", "study_id": "NC-001", "tissue": "product", "study_day": 0,
     "n_cells": 500, "car_pct_of_t": 60.0, "b_cell_pct": 0.0, "plasma_cell_pct": 0.0,
     "expanded_clone_pct": 10.0, "csf_blood_car_ratio": np.nan,
     "csf_blood_overlap_pct": np.nan, "product_overlap_pct": np.nan},
])  # fmt: skip


def test_every_code_is_in_the_catalogue_with_its_unit_and_specimen() -> None:
    for (tissue, _), (code, unit) in CODES.items():
        entry = by_key(code.removeprefix("local:"))
        assert entry.unit == unit
        assert entry.default_specimen.value == tissue


def test_rows_skip_the_product_and_empty_values() -> None:
    samples = readout_rows(READOUTS)
    assert [s.sample_id for s in samples] == ["B7", "C7"]
    blood, csf = samples
    assert {r["code"] for r in blood.rows} == {
        "local:sc_car_pct_t_blood", "local:sc_b_cell_pct_blood",
        "local:sc_plasma_cell_pct_blood", "local:sc_expanded_clone_pct_blood",
    }  # fmt: skip
    assert "local:sc_plasma_cell_pct_csf" not in {r["code"] for r in csf.rows}  # NaN
    overlap = next(r for r in csf.rows if r["code"] == "local:sc_csf_blood_clone_overlap")
    assert overlap["value"] == 35.1235
    assert overlap["specimen"] == "csf"


@pytest.fixture
def treated(database: Database, nurse: User) -> Patient:
    with database.transaction() as session:
        p = patient(session, nurse, "NC-001")
        repo.create_course(
            session, nurse, repo.CourseIn(p.id, "BCMA CAR-T", infusion_date=date(2025, 3, 3))
        )
        return p


def test_readouts_are_stored_on_the_study_day(
    database: Database, nurse: User, treated: Patient
) -> None:
    csf_time = datetime(2025, 3, 10, 8, 15, tzinfo=UTC)
    with database.transaction() as session:
        stored = store_readouts(session, nurse, readout_rows(READOUTS, {"C7": csf_time}))
    assert [len(s.ids) for s in stored] == [4, 5]
    assert stored[0].effective_at == datetime(2025, 3, 10, 12, tzinfo=UTC)  # day 7, noon
    assert stored[1].effective_at == csf_time
    with database.reading() as session:
        rows = repo.list_observations(session, treated.id)
        ratio = repo.list_observations(session, treated.id, code="local:sc_car_csf_blood_ratio")
    assert len(rows) == 9
    assert {r.source for r in rows} == {"omics"}
    assert ratio[0].value == 2.0
    assert ratio[0].unit == "{ratio}"
    assert ratio[0].specimen.value == "csf"


def test_a_sample_without_a_time_is_at_noon_on_its_study_day_on_the_site_clock(
    database: Database, nurse: User, site_zone: Callable[[str], ZoneInfo]
) -> None:
    """Infused at 07:30 in Beijing on 3 March (23:30 UTC on 2 March): the sheet's day 7 is
    10 March in Beijing, stored at its noon (04:00 UTC), and the chart counts day 7 again; on
    the UTC date it would be 9 March."""
    zone = site_zone("Asia/Shanghai")
    infused = datetime(2025, 3, 2, 23, 30, tzinfo=UTC)
    with database.transaction() as session:
        p = patient(session, nurse, "NC-001")
        course = repo.create_course(
            session, nurse, repo.CourseIn(p.id, "BCMA CAR-T", infusion_at=infused)
        )
        assert course.infusion_date == date(2025, 3, 3)
        stored = store_readouts(session, nurse, readout_rows(READOUTS))
    at = stored[0].effective_at
    assert at == datetime(2025, 3, 10, 4, tzinfo=UTC)
    assert at.astimezone(zone).hour == 12
    assert study_day(infused, at) == 7


def test_an_unknown_patient_stores_nothing(
    database: Database, nurse: User, treated: Patient
) -> None:
    bad = READOUTS.copy()
    bad.loc[1, "study_id"] = "NC-404"
    with pytest.raises(NotFoundError), database.transaction() as session:
        store_readouts(session, nurse, readout_rows(bad))
    with database.reading() as session:
        assert repo.list_observations(session, treated.id) == []


def test_no_time_and_no_infusion_is_refused_naming_the_field(
    database: Database, nurse: User
) -> None:
    with database.transaction() as session:
        patient(session, nurse, "NC-001")
    with pytest.raises(InvalidInputError) as caught, database.transaction() as session:
        store_readouts(session, nurse, readout_rows(READOUTS))
    assert caught.value.locations == ["B7.collected_at"]


def test_the_chart_draws_the_stored_readouts(
    database: Database, nurse: User, treated: Patient
) -> None:
    from neurocart.web import chart

    with database.transaction() as session:
        store_readouts(session, nurse, readout_rows(READOUTS))
    with database.reading() as session:
        observations = repo.list_observations(session, treated.id)
    panel = next(p for p in chart.LAB_PANELS if p.key == "sc_car")
    figure = chart.panel_figure(
        panel, chart.by_code(observations), datetime(2025, 3, 3, tzinfo=UTC)
    )
    assert figure is not None
    assert [(t["name"], t["x"], t["y"]) for t in figure["data"]] == [
        ("blood", [7.5], [12.5]),
        ("CSF", [7.5], [25.0]),
    ]
