"""The column-wise cohort read (`store.columnar`): the same frames as the whole record's rows.

A partial read (`export_frames(only=...)`) orders its rows in numpy, joins code, unit and
specimen into one text in the database and converts texts and JSON once per distinct value;
what it gives must be the whole export's rows of those codes, in the same order, cell for cell.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import update

from neurocart.frames import Selection
from neurocart.services import assessments
from neurocart.store import repo
from neurocart.store.columnar import SEPARATOR
from neurocart.store.export import export_frames
from neurocart.store.models import Observation
from tests.store.factories import EASIX_INPUTS, T0, patient

CODES = ("751-8", "2465-3", "local:cd19_b_cells")
SELECTION = Selection(frozenset(CODES[:2]), frozenset({"easix"}), frozenset({"adverse_event"}))


def _fill(database, admin) -> None:  # type: ignore[no-untyped-def]
    with database.transaction() as session:
        for study_id in ("NC-003", "NC-001", "NC-002"):  # ids not in study-ID order
            p = patient(session, admin, study_id)
            rows = [
                repo.ObservationIn(
                    patient_id=p.id, code=code, value=float(i), unit="x",
                    effective_at=T0 + timedelta(hours=i // 3), source="lab",
                )  # several codes drawn at one instant, written in no order of code
                for i, code in enumerate(CODES * 3)
            ]  # fmt: skip
            ids = repo.add_observations(session, admin, rows)
            repo.correct_observation(session, admin, ids[4], reason="typo", value=99.0)
            for hours in (2, 1):  # the same inputs twice (one text, parsed once)
                assessments.add_assessment(
                    session,
                    admin,
                    repo.AssessmentIn(p.id, "easix", EASIX_INPUTS, T0 + timedelta(hours=hours)),
                )
            repo.add_event(
                session,
                admin,
                repo.EventIn(p.id, "adverse_event", onset_at=T0, ctcae_term="crs", grade=1),
            )


def _rows_of(frame: pd.DataFrame, column: str, kinds: frozenset[str]) -> pd.DataFrame:
    return frame[frame[column].isin(kinds)].reset_index(drop=True)


def _both(database):  # type: ignore[no-untyped-def]
    with database.reading() as session:
        return export_frames(session), export_frames(session, only=SELECTION)


def _check(whole, partial) -> None:  # type: ignore[no-untyped-def]
    pd.testing.assert_frame_equal(
        partial.observations, _rows_of(whole.observations, "code", SELECTION.codes)
    )
    pd.testing.assert_frame_equal(
        partial.assessments, _rows_of(whole.assessments, "instrument", SELECTION.instruments)
    )
    pd.testing.assert_frame_equal(
        partial.events, _rows_of(whole.events, "type", SELECTION.event_types)
    )


def test_a_partial_read_is_the_whole_records_rows_of_its_kinds(database, admin) -> None:
    _fill(database, admin)
    whole, partial = _both(database)
    assert whole.observations["study_id"].is_monotonic_increasing
    assert len(partial.observations) == 3 * 6  # the superseded row is not read
    _check(whole, partial)
    # ties at one instant come by id, as written: not by code
    first = partial.observations[partial.observations["study_id"] == "NC-001"]
    assert first["code"].tolist()[:2] == ["751-8", "2465-3"]


def test_a_text_holding_the_separator_is_read_apart(database, admin) -> None:
    _fill(database, admin)
    with database.transaction() as session:
        session.execute(update(Observation).where(Observation.code == "751-8")
                        .values(unit=f"10{SEPARATOR}9/L"))  # fmt: skip
    whole, partial = _both(database)
    units = partial.observations.loc[partial.observations["code"] == "751-8", "unit"]
    assert set(units) == {f"10{SEPARATOR}9/L"}
    _check(whole, partial)
