"""Assemble a simulated cohort into `CohortFrames`, cut at `now`.

`simulate` returns a `Simulation`: the frames as the record stands at `now`, the facts that
are still ahead (`future`, for the demo's accelerated clock) and the latent acute state
(for `stream_acute_vitals`). `simulate_cohort` is the same, frames only. One seed gives one
cohort: every random draw comes from a single `numpy.random.Generator` in a fixed order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from neurocart.frames import CohortFrames, conform
from neurocart.simulate.acute import AcuteState, acute_course, draw_acute_state, labs
from neurocart.simulate.biomarkers import biomarkers
from neurocart.simulate.course import Course, course_events, courses_table, draw_course
from neurocart.simulate.facts import (
    Facts,
    build_assessments,
    build_events,
    build_observations,
    build_records,
)
from neurocart.simulate.kinetics import kinetics
from neurocart.simulate.outcomes import outcomes
from neurocart.simulate.params import DEFAULT, SimParams
from neurocart.simulate.patients import Baseline, draw_baseline
from neurocart.simulate.protocol import follow_protocol
from neurocart.simulate.single_cell import single_cell

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(t: datetime) -> int:
    """An aware instant as microseconds since the epoch, the simulator's one time unit; a naive time
    is refused."""
    if t.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return (t - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Simulation:
    """A simulated cohort: what is recorded up to `now`, what is planned after it, and the draws
    behind both, so the demo can post the future as the clock passes."""

    frames: CohortFrames  # what is recorded up to `now`
    future: CohortFrames  # facts after `now` (courses: every planned date)
    now: datetime
    baseline: Baseline
    course: Course
    acute: AcuteState
    seed: int

    def index(self, study_id: str) -> int:
        hits = np.flatnonzero(self.baseline.study_id == study_id)
        if not hits.size:
            raise KeyError(f"study_id {study_id!r} is not in this simulation")
        return int(hits[0])

    def acute_now(self) -> list[str]:
        """Study IDs of patients in study days 0–14 at `now` and alive."""
        idx = np.flatnonzero(self.course.stage == "acute")
        return [str(x) for x in self.baseline.study_id[idx]]


def simulate(
    n_patients: int,
    seed: int,
    *,
    now: datetime,
    acute_now: int | None = None,
    diseases: Mapping[str, float] | None = None,
    stages: Mapping[str, float] | None = None,
    params: SimParams = DEFAULT,
) -> Simulation:
    """Simulate `n_patients` seeded patients at every stage relative to `now`."""
    if n_patients < 1:
        raise ValueError(f"n_patients must be at least 1, got {n_patients}")
    rng = np.random.default_rng(seed)
    now_us = to_us(now)
    b = draw_baseline(n_patients, rng, params, diseases)
    c = draw_course(b, rng, params, now_us, stages or params.stages, acute_now)
    s = draw_acute_state(b, rng, params)
    f = Facts()
    course_events(f, c)
    acute_course(f, b, c, s, rng, params)
    labs(f, b, c, s, rng, params)
    kinetics(f, b, c, rng, params)
    outcomes(f, b, c, rng, params)
    biomarkers(f, b, c, np.random.default_rng([seed, 17]), params)  # own stream: others unchanged
    if params.follow_protocol:
        follow_protocol(f, b, c, rng, params)
    single_cell(f, b, c, np.random.default_rng([seed, 18]))  # at every CSF puncture drawn above
    past = _frames(f, b, c, params, now_us, future=False)
    ahead = _frames(f, b, c, params, now_us, future=True)
    return Simulation(past, ahead, now, b, c, s, seed)


def simulate_cohort(
    n_patients: int,
    seed: int,
    *,
    now: datetime,
    acute_now: int | None = None,
    diseases: Mapping[str, float] | None = None,
    stages: Mapping[str, float] | None = None,
    params: SimParams = DEFAULT,
) -> CohortFrames:
    """The cohort's record as it stands at `now` (see `simulate` for the rest)."""
    return simulate(
        n_patients, seed, now=now, acute_now=acute_now, diseases=diseases, stages=stages,
        params=params,
    ).frames  # fmt: skip


def _patients(b: Baseline, c: Course) -> pd.DataFrame:
    enrol = pd.to_datetime(c.enrolment, unit="us", utc=True)
    years = enrol.year.to_numpy()
    birth = np.round(years - b.age).astype(np.int64)
    dx = enrol - pd.to_timedelta(np.round(b.duration_years * 365.25), unit="D")
    diag = np.empty(b.n, dtype=object)
    diag[:] = [date(t.year, t.month, t.day) for t in dx]
    prior = np.empty(b.n, dtype=object)
    prior[:] = b.prior_therapies
    return pd.DataFrame(
        {
            "study_id": b.study_id,
            "site": b.site,
            "sex": b.sex,
            "birth_year": birth,
            "diagnosis": b.diagnosis,
            "subtype": b.subtype,
            "diagnosis_date": diag,
            "prior_therapies": prior,
        }
    )


def _frames(
    f: Facts, b: Baseline, c: Course, p: SimParams, now_us: int, *, future: bool
) -> CohortFrames:
    courses = pd.DataFrame(courses_table(b, c, p, None if future else now_us))
    for col in ("enrolment_at", "apheresis_at", "ld_start_at", "infusion_at"):
        courses[col] = courses[col].dt.tz_localize("UTC")
    ids = b.study_id
    events = build_events(f, ids, c.horizon, now_us, future)
    assessments = build_assessments(f, ids, c.horizon, now_us, future)
    if not future:
        events = _grade_so_far(events, assessments)
    return CohortFrames(
        patients=conform("patients", _patients(b, c)),
        courses=conform("courses", courses),
        observations=build_observations(f, ids, c.horizon, now_us, future),
        assessments=assessments,
        events=events,
        mri_scans=build_records(f, "mri_scans", ids, c.horizon, now_us, future),
        ncs_studies=build_records(f, "ncs_studies", ids, c.horizon, now_us, future),
    )


def _grade_so_far(events: pd.DataFrame, assessments: pd.DataFrame) -> pd.DataFrame:
    """An ongoing CRS/ICANS episode carries the worst grade graded so far, not its future."""
    ongoing = (events["type"] == "adverse_event") & events["term"].isin(["crs", "icans"])
    ongoing &= events["end_at"].isna()
    if not ongoing.any():
        return events
    events = events.copy()
    for i in np.flatnonzero(ongoing.to_numpy()):
        row = events.iloc[i]
        a = assessments[
            (assessments["study_id"] == row["study_id"])
            & (assessments["instrument"] == row["term"])
            & (assessments["effective_at"] >= row["onset_at"])
        ]
        worst = int(a["value"].max()) if len(a) else 0
        events.loc[events.index[int(i)], "grade"] = max(worst, 1)
    return events


def iter_facts(
    frames: CohortFrames, *, start: datetime | None = None, end: datetime | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every observation, assessment and event as (kind, row), in time order.

    kind is "observation", "assessment" or "event"; ties keep that order. `start` is
    exclusive and `end` inclusive, so consecutive windows never repeat a fact.
    """
    parts: list[tuple[str, pd.DataFrame, Any, int]] = []
    for kind, table, col in (
        ("observation", frames.observations, "effective_at"),
        ("assessment", frames.assessments, "effective_at"),
        ("event", frames.events, "onset_at"),
    ):
        t = table[col]
        keep = pd.Series(True, index=table.index)
        if start is not None:
            keep &= t > pd.Timestamp(start)
        if end is not None:
            keep &= t <= pd.Timestamp(end)
        sel = table[keep.to_numpy()]
        parts.append((kind, sel, sel[col].to_numpy(), len(parts)))
    times = np.concatenate([p[2] for p in parts]) if parts else np.array([])
    kinds = np.concatenate([np.full(len(p[1]), p[3]) for p in parts])
    rows = np.concatenate([np.arange(len(p[1])) for p in parts])
    order = np.lexsort((rows, kinds, times))
    records: list[list[dict[str, Any]]] = [
        [{str(k): v for k, v in r.items()} for r in p[1].to_dict("records")] for p in parts
    ]
    for i in order:
        k = int(kinds[i])
        yield parts[k][0], records[k][int(rows[i])]
