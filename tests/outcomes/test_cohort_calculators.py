"""The cohort's CDW/CDI and adjusted INCAT changes, graded for all patients at once
(`disability_change.confirmed_events`, `incat.adjusted_changes`), give the very outcome tables
that one calculator call per patient gives.

The cohort is a simulated one, edited so that every path is taken: EDSS worsening (the
simulator's patients mostly improve), two EDSS on one day, relapse onsets 0–31 days before EDSS
visits (a baseline that moves, a confirmation that waits), and INCAT inputs the calculator
refuses (the outcome then falls back to the raw change) or that are not plain whole numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from neurocart.frames import CohortFrames
from neurocart.outcomes import definitions as d
from neurocart.outcomes import patient
from neurocart.outcomes.patient import outcomes_at
from neurocart.standards import calculate

NOW = datetime(2026, 6, 1, 23, 59, 59, tzinfo=UTC)
DAYS: list[int | None] = [None, 90, 182, 365, 730]
CUTOFFS = [date(2026, 6, 1), date(2025, 9, 1)]
ODD_INPUTS: list[Any] = [{}, None, {"leg": 2}, {"arm": 1.0, "leg": 2}, {"arm": 6, "leg": 0},
                         {"arm": True, "leg": 1}, {"arm": "2", "leg": 2}]  # fmt: skip


def _edited(frames: CohortFrames, rng: np.random.Generator) -> CohortFrames:
    a = frames.assessments.copy()
    ids = frames.patients.loc[frames.patients["diagnosis"].isin(["ms", "nmosd"]), "study_id"]
    edss = a.index[(a["instrument"] == "edss") & a["study_id"].isin(ids)]
    # a sustained worsening from a visit on, in a third of the series (steps stay EDSS steps)
    rows = a.loc[edss].sort_values("effective_at")
    visit = rows.groupby("study_id").cumcount().to_numpy()
    position = {sid: i for i, sid in enumerate(ids.tolist())}
    k = np.array([position[sid] for sid in rows["study_id"].tolist()])
    chosen, first = rng.random(len(ids)) < 1 / 3, rng.integers(1, 8, len(ids))
    step = rng.choice([1.0, 1.5], len(ids))
    worse = chosen[k] & (visit >= first[k])
    raised = rows["value"].to_numpy()[worse] + step[k[worse]]
    a.loc[rows.index[worse], "value"] = np.minimum(raised, 10)
    twice = a.loc[rng.choice(edss, size=15, replace=False)].copy()
    twice["effective_at"] += pd.Timedelta(seconds=30)  # the same study day, recorded later
    twice["value"] = np.minimum(twice["value"] + 1.0, 10)
    incat = a.index[a["instrument"] == "incat"]
    odd = rng.choice(incat, size=len(incat) // 6, replace=False)
    a.loc[odd, "inputs"] = pd.Series([ODD_INPUTS[i % len(ODD_INPUTS)] for i in range(len(odd))],
                                     index=odd, dtype=object)  # fmt: skip
    e = frames.events
    relapse = e[e["type"] == "relapse"].iloc[[0]]
    visits = a.loc[rng.choice(edss, size=60, replace=False)]
    onsets = pd.concat([relapse] * len(visits), ignore_index=True)
    onsets["study_id"] = visits["study_id"].to_numpy()
    before = pd.to_timedelta(rng.choice([0, 5, 29, 30, 31], len(visits)), unit="D")
    onsets["onset_at"] = (visits["effective_at"] - before).to_numpy()
    onsets["end_at"] = onsets["onset_at"]
    assessments = pd.concat([a, twice], ignore_index=True).sort_values(["study_id", "effective_at"])
    events = pd.concat([e, onsets], ignore_index=True).sort_values(["study_id", "onset_at"])
    return replace(
        frames,
        assessments=assessments.reset_index(drop=True),
        events=events.reset_index(drop=True),
    )


@pytest.fixture(scope="module")
def cohort() -> CohortFrames:
    from neurocart.simulate import simulate_cohort

    return _edited(simulate_cohort(300, 5, now=NOW), np.random.default_rng(3))


def _one_call_each(patients: Sequence[patient._Patient]) -> None:
    """CDW/CDI as one `disability_change` call per patient reads them (the reference)."""
    for p in patients:
        s = p.scales.get("edss")
        seen: dict[int, float] = {}
        if s is not None:
            for day, value in zip(s.days.tolist(), s.values.tolist(), strict=True):
                seen[int(day)] = float(value)
        if len(seen) < 2:
            p.edss_events = ([], [])
            continue
        inputs = {
            "assessments": [{"day": k, "edss": v} for k, v in seen.items()],
            "direction": "worsening",
            "confirmation_days": d.CDW_CONFIRMATION_DAYS,
            "relapses": sorted(set(p.relapse_study_days)),
        }
        details = calculate("disability_change", inputs).details
        p.edss_events = (
            [int(e["confirmed_day"]) for e in details["events"]],
            [int(e["confirmed_day"]) for e in details["other_direction_events"]],
        )


def _counted(calls: dict[str, int]) -> Callable[[str, Any], Any]:
    def counting(name: str, inputs: Any) -> Any:
        calls[name] = calls.get(name, 0) + 1
        return calculate(name, inputs)

    return counting


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_the_cohort_s_outcomes_are_those_of_one_calculator_call_per_patient(
    cohort: CohortFrames, cutoff: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: dict[str, int] = {}
    with monkeypatch.context() as m:
        m.setattr(patient, "calculate", _counted(calls))
        batched = outcomes_at(cohort, DAYS, cutoff=cutoff)
    with monkeypatch.context() as m:
        m.setattr(patient, "_edss_events", _one_call_each)
        m.setattr(patient, "_incat_changes", lambda patients: None)  # each read: calculate
        reference = outcomes_at(cohort, DAYS, cutoff=cutoff)
    for t in DAYS:
        pd.testing.assert_frame_equal(batched[t], reference[t], check_exact=True)
    assert "disability_change" not in calls
    # only the visits with odd inputs are graded one by one (and some fall back)
    read = sum(int(batched[t]["incat_adjusted_change"].notna().sum()) for t in DAYS)
    assert 0 < calls.get("incat", 0) < read


def test_the_edited_cohort_takes_every_path(cohort: CohortFrames) -> None:
    last = outcomes_at(cohort, [None], cutoff=CUTOFFS[0])[None]
    assert (last["cdw"] > 0).sum() >= 5
    assert (last["cdi"] > 0).sum() >= 5
    assert last["incat_adjusted_change"].notna().sum() >= 10
    moved = 0  # EDSS series whose first assessment lies within 30 days after a relapse
    data = patient._collect(patient.restrict(cohort, CUTOFFS[0]))
    for p in data.values():
        s = p.scales.get("edss")
        if s is not None and any(0 <= s.day_list[0] - r < 30 for r in p.relapse_study_days):
            moved += 1
    assert moved >= 1


def test_an_incat_baseline_without_limb_scores_gives_the_plain_change() -> None:
    """A baseline whose stored inputs lack the limb scores (the calculator then has no
    previous scores to adjust from) counts the plain change of totals; it never fails."""
    from neurocart.outcomes.patient import _incat_adjusted, _Series

    s = _Series(
        days=np.array([0, 90]),
        values=np.array([4.0, 2.0]),
        inputs=[{"arm": None, "leg": None}, {"arm": 1, "leg": 1}],
    )
    assert _incat_adjusted(s, 0, 1) == -2.0
