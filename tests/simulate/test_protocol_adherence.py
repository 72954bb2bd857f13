"""The simulated team follows the care protocol: few overdue slots, valid values, real scores.

Schedules are computed by the pathway engine from the frames exactly as the store's
`services.schedule` computes them (`frame_schedules`), under the shipped default protocol.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from neurocart.frames import CohortFrames
from neurocart.ingest import codes
from neurocart.pathway import SlotState
from neurocart.simulate import DEFAULT, SimParams, Simulation, simulate
from neurocart.simulate.facts import CODES
from neurocart.simulate.protocol import frame_schedules
from neurocart.standards import calculate

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PAST = (SlotState.DONE, SlotState.OVERDUE)


@pytest.fixture(scope="module")
def small() -> Simulation:
    return simulate(30, 21, now=NOW, acute_now=6)


@pytest.fixture(scope="module")
def without() -> Simulation:
    """The same cohort without the protocol step (the clinical facts alone)."""
    return simulate(30, 21, now=NOW, acute_now=6, params=_params(follow_protocol=False))


def _params(**changes: Any) -> SimParams:
    return dataclasses.replace(DEFAULT, **changes)


def _states(frames: CohortFrames) -> tuple[int, int, dict[str, int]]:
    """(past slots, overdue slots, overdue by task) over the cohort at NOW."""
    past = overdue = 0
    by_task: dict[str, int] = {}
    for schedule in frame_schedules(frames, now=NOW).values():
        for slot in schedule.slots:
            past += slot.state in PAST
            if slot.state is SlotState.OVERDUE:
                overdue += 1
                by_task[slot.task_id] = by_task.get(slot.task_id, 0) + 1
    return past, overdue, by_task


def _added(sim: Simulation, base: Simulation, table: str, on: list[str]) -> pd.DataFrame:
    """Rows of `table` the protocol step added (the clinical rows are the same in both)."""
    full, clinical = getattr(sim.frames, table), getattr(base.frames, table)
    keys = clinical[on].astype(str).agg("|".join, axis=1)
    out: pd.DataFrame = full[~full[on].astype(str).agg("|".join, axis=1).isin(set(keys))]
    return out


def test_few_slots_are_overdue_where_without_the_team_many_were(
    small: Simulation, without: Simulation
) -> None:
    past, overdue, _ = _states(small.frames)
    assert past > 1000
    assert overdue / past <= 0.05
    past0, overdue0, _ = _states(without.frames)
    assert overdue0 / past0 > 0.1  # the clinical model alone leaves procedures undone


def test_full_adherence_leaves_nothing_overdue_even_for_the_dead() -> None:
    sim = simulate(40, 8, now=NOW, params=_params(protocol_adherence=1.0,
                                                  protocol_adherence_critical=1.0,
                                                  death_share=0.25))  # fmt: skip
    events = sim.frames.events
    died = events[events["type"] == "death"].set_index("study_id")["onset_at"]
    assert len(died) >= 3
    for sid, schedule in frame_schedules(sim.frames, now=NOW).items():
        assert not schedule.in_state(SlotState.OVERDUE), sid
        if sid in died.index:  # nothing scheduled after the death, done slots kept
            assert schedule.ended_at == died[sid].to_pydatetime()
            assert not schedule.in_state(SlotState.DUE, SlotState.UPCOMING), sid
            reason = f"patient died on {died[sid].date().isoformat()}"
            after = [s for s in schedule.slots if s.reason == reason]
            assert after, sid
            assert all(s.state is SlotState.NOT_APPLICABLE for s in after)
            assert schedule.in_state(SlotState.DONE), sid
        else:
            assert schedule.ended_at is None


def test_adherence_below_one_leaves_some_overdue() -> None:
    sim = simulate(150, 4, now=NOW, stages={"completed": 0.5, "follow_up": 0.5})
    past, overdue, by_task = _states(sim.frames)
    assert 0 < overdue / past <= 0.05
    assert len(by_task) >= 3  # misses spread over tasks, not one systematic gap


def test_nothing_after_now_in_frames_and_later_slots_in_future(small: Simulation) -> None:
    now = pd.Timestamp(NOW)
    f = small.frames
    for table, col in ((f.observations, "effective_at"), (f.assessments, "effective_at"),
                       (f.events, "onset_at")):  # fmt: skip
        assert (table[col] <= now).all()
    ahead = small.future.events
    assert (ahead["onset_at"] > now).all()
    # patients still in screening have their premedication and later tasks ahead of them
    assert {"premedication", "relapse_history_reviewed"} <= set(ahead["type"])


def test_observations_added_are_in_range_and_canonical_units(
    small: Simulation, without: Simulation
) -> None:
    added = _added(small, without, "observations", ["study_id", "code", "effective_at"])
    assert {"1975-2", "10230-1", "16933-4", "local:autoantibody_titer", "8310-5"} <= set(
        added["code"]
    )
    by_code = {e.code: e for e in codes()}
    for code, group in added.groupby("code"):
        entry = by_code[str(code)]
        assert (group["unit"] == entry.unit).all(), code
        assert (group["unit"] == CODES[str(code)][0]).all(), code
        assert group["value"].between(entry.low, entry.high).all(), code
        if entry.values:  # qualitative: 0 negative or 1 positive, nothing else
            assert group["value"].isin(entry.values).all(), code
    lvef = added.loc[added["code"] == "10230-1", "value"]
    assert lvef.between(55, 70).all()


def test_assessments_added_are_scored_by_the_calculators(
    small: Simulation, without: Simulation
) -> None:
    added = _added(small, without, "assessments", ["study_id", "instrument", "effective_at"])
    assert "ice" in set(added["instrument"])
    for row in added.to_dict("records"):
        result = calculate(str(row["instrument"]), row["inputs"])
        assert float(result.value) == row["value"], row
        assert result.label == row["label"]


def test_pre_infusion_ice_is_the_patients_baseline(small: Simulation) -> None:
    ice = small.frames.assessments[small.frames.assessments["instrument"] == "ice"]
    infusion = small.frames.courses.set_index("study_id")["infusion_at"]
    before = ice[ice["effective_at"] < ice["study_id"].map(infusion)]
    # every pre-infusion ICE of a patient scores the same: the baseline does not drift
    assert (before.groupby("study_id")["value"].nunique() == 1).all()


def test_events_complete_their_tasks_with_details(small: Simulation) -> None:
    e = small.frames.events
    drugs = set(e.loc[e["type"] == "drug_given", "drug"])
    assert {"acyclovir", "trimethoprim_sulfamethoxazole"} <= drugs
    mri = e[e["type"] == "mri"]
    patients = small.frames.patients.set_index("study_id")
    assert mri["details"].map(lambda d: {"new_or_enlarging_t2", "gd_enhancing"} <= set(d)).all()
    # MS/NMOSD patients get their MRIs from the outcomes module only: one per visit
    cns = mri[mri["study_id"].map(patients["diagnosis"]).isin(["ms", "nmosd"])]
    assert not cns.duplicated(["study_id", "onset_at"]).any()
    dx = e[e["type"] == "diagnosis_confirmed"]
    assert dx["details"].map(lambda d: bool(d.get("criteria"))).all()


def test_hbv_prophylaxis_follows_an_anti_hbc_positive_result() -> None:
    sim = simulate(60, 5, now=NOW, stages={"follow_up": 1.0},
                   params=_params(result_draws=DEFAULT.result_draws | {
                       "16933-4": ("positive", 0.5, 0.0, 0.0)}))  # fmt: skip
    obs, e = sim.frames.observations, sim.frames.events
    hbc = obs[obs["code"] == "16933-4"].set_index("study_id")
    positive = set(hbc.index[hbc["value"] == 1])
    treated = set(e.loc[e["drug"] == "entecavir", "study_id"])
    tested = set(obs.loc[obs["code"] == "local:hbv_dna", "study_id"])
    assert positive
    assert treated <= positive
    assert len(treated) >= 0.8 * len(positive)
    assert tested <= positive
    first = e[e["drug"] == "entecavir"].groupby("study_id")["onset_at"].min()
    assert (first >= hbc.loc[first.index, "effective_at"]).all()


def test_reproducible_with_the_seed() -> None:
    a = simulate(25, 13, now=NOW).frames
    b = simulate(25, 13, now=NOW).frames
    for name, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, b.tables()[name])
    c = simulate(25, 14, now=NOW).frames
    assert not np.array_equal(a.events["onset_at"], c.events["onset_at"])
