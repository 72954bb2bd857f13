"""The frames as known at a data cut-off (`outcomes.patient.restrict`): every table, the study
records included, keeps what was there by the cut-off day and nothing after."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from neurocart.outcomes.patient import restrict
from tests.cohort.factory import T0, Builder


def _built() -> Builder:
    b = Builder().patient("P1", "cidp")
    b.scan("P1", -10).scan("P1", 90, comparator=-10, new=0, enlarging=0, gd=0)
    b.ncs("P1", -10, []).ncs("P1", 90, [])
    return b


def test_a_cut_off_keeps_the_study_records_up_to_its_day() -> None:
    frames = _built().frames()
    cut = restrict(frames, (T0 + pd.Timedelta(days=30)).date())
    assert list(cut.mri_scans["scan_date"]) == [T0.date() - timedelta(days=10)]
    assert list(cut.ncs_studies["study_date"]) == [T0.date() - timedelta(days=10)]


def test_a_cut_off_after_everything_keeps_every_table() -> None:
    frames = _built().frames()
    cut = restrict(frames, date(2030, 1, 1))
    assert len(cut.mri_scans) == 2
    assert len(cut.ncs_studies) == 2
    assert cut.tables().keys() == frames.tables().keys()
