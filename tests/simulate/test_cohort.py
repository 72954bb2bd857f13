"""Contract, reproducibility, calculator agreement, ranges and the `now` cut."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from neurocart.frames import CohortFrames
from neurocart.ingest import codes
from neurocart.simulate import Simulation, iter_facts, simulate_cohort, stream_acute_vitals
from neurocart.simulate.facts import CODES
from neurocart.standards import calculate

from .conftest import NOW


def test_frames_conform_to_the_contract(mixed: Simulation) -> None:
    mixed.frames.validate()
    mixed.future.validate()
    for table in mixed.frames.tables().values():
        for col in table.columns:
            if isinstance(table[col].dtype, pd.DatetimeTZDtype):
                assert str(table[col].dt.tz) == "UTC"


def test_same_seed_same_frames_other_seed_differs() -> None:
    a = simulate_cohort(30, 11, now=NOW)
    b = simulate_cohort(30, 11, now=NOW)
    for name, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, b.tables()[name])
    c = simulate_cohort(30, 12, now=NOW)
    assert not a.observations["value"].equals(c.observations["value"])


def test_every_assessment_is_what_the_calculator_says(mixed: Simulation) -> None:
    a = mixed.frames.assessments
    sample = pd.concat(
        [g.sample(min(len(g), 60), random_state=0) for _, g in a.groupby("instrument")]
    )
    assert set(sample["instrument"]) >= {"ice", "icans", "crs", "edss", "mg_adl", "qmg",
                                          "imacs_tis", "incat", "mrc_sum"}  # fmt: skip
    for row in sample.itertuples():
        result = calculate(row.instrument, row.inputs)
        assert float(result.value) == row.value, (row.instrument, row.inputs)
        assert result.label == row.label


def test_observations_in_range_and_canonical_units(mixed: Simulation) -> None:
    by_code = {e.code: e for e in codes()}  # ingest's catalogue is the one list of codes
    obs = mixed.frames.observations
    for code, group in obs.groupby("code"):
        entry = by_code[code]
        assert (group["unit"] == entry.unit).all(), code
        assert (group["unit"] == CODES[code][0]).all()
        assert group["value"].between(entry.low, entry.high).all(), code
        assert group["value"].notna().all()
    vitals = obs[obs["code"] == "8310-5"]["value"]
    assert vitals.between(35.0, 41.0).all()


def test_acute_now_patients_have_data_up_to_now_and_none_after(mixed: Simulation) -> None:
    ids = mixed.acute_now()
    assert len(ids) == 12
    now = pd.Timestamp(NOW)
    frames = mixed.frames
    for table, col in ((frames.observations, "effective_at"), (frames.assessments,
                       "effective_at"), (frames.events, "onset_at")):  # fmt: skip
        assert (table[col] <= now).all()
    infusion = frames.courses.set_index("study_id")["infusion_at"]
    inside = [i for i in ids if pd.Timedelta(hours=1) < now - infusion[i] < pd.Timedelta(days=14.8)]
    vitals = frames.observations[
        frames.observations["study_id"].isin(inside) & (frames.observations["code"] == "8310-5")
    ]
    last = vitals.groupby("study_id")["effective_at"].max()
    assert len(last) == len(inside) >= 8
    assert ((now - last) <= pd.Timedelta(hours=4.6)).all()
    future = mixed.future.observations
    assert (future["effective_at"] > now).all()
    assert future["study_id"].isin(ids).any()
    courses = frames.courses.set_index("study_id")
    assert (courses["infusion_at"].dropna() <= now).all()
    assert courses["infusion_at"].isna().any()  # screening patients


def test_iter_facts_is_time_ordered_and_windows_do_not_overlap(mixed: Simulation) -> None:
    small = CohortFrames(
        *(t[t["study_id"] == mixed.acute_now()[0]] for t in mixed.frames.tables().values())
    )
    facts = list(iter_facts(small))
    times = [r.get("effective_at", r.get("onset_at")) for _, r in facts]
    assert times == sorted(times)
    mid = times[len(times) // 2]
    assert len(list(iter_facts(small, end=mid))) + len(list(iter_facts(small, start=mid))) == (
        len(facts)
    )


def test_stream_acute_vitals_yields_contract_rows(mixed: Simulation) -> None:
    sid = mixed.acute_now()[0]
    stream = stream_acute_vitals(mixed, sid, NOW, timedelta(minutes=15))
    first, second = next(stream), next(stream)
    assert CohortFrames.conformed(observations=first).problems() == []
    assert len(first) == 6
    assert second["effective_at"].iloc[0] - first["effective_at"].iloc[0] == pd.Timedelta(
        minutes=15
    )
    with pytest.raises(ValueError, match="step"):
        next(stream_acute_vitals(mixed, sid, NOW, timedelta(0)))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="diseases"):
        simulate_cohort(5, 1, now=NOW, diseases={"lupus": 1.0})
    with pytest.raises(ValueError, match="acute_now"):
        simulate_cohort(5, 1, now=NOW, acute_now=6)
    with pytest.raises(ValueError, match="timezone"):
        simulate_cohort(5, 1, now=NOW.replace(tzinfo=None))


def test_disease_mix_is_configurable() -> None:
    frames = simulate_cohort(40, 2, now=NOW, diseases={"mg": 1.0})
    assert set(frames.patients["diagnosis"]) == {"mg"}
    assert np.isin(frames.assessments["instrument"].unique(), ["edss", "incat"]).sum() == 0
