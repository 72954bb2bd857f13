"""The protocol's dates for each patient, placed so that the cohort is at every stage `now`.

Stages: `screening` (enrolled, infusion still ahead; some already past apheresis or in
lymphodepletion), `acute` (study day 0–14 now), `subacute` (days 15–28), `follow_up`
(day 29 to month 24) and `completed` (24 months of data). Every patient gets a planned
infusion time, also when it lies after `now`; the frames show only what has happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from neurocart.simulate.facts import NAT, US_PER_DAY, US_PER_HOUR, Facts, IntArr
from neurocart.simulate.params import SimParams
from neurocart.simulate.patients import Arr, Baseline, choose, uniform

STAGES = ("screening", "acute", "subacute", "follow_up", "completed")
_INFUSION_AGO_DAYS: dict[str, tuple[float, float]] = {
    "acute": (0.0, 15.0),
    "subacute": (15.0, 29.0),
    "follow_up": (29.0, 730.0),
    "completed": (730.0, 1000.0),
}


@dataclass(frozen=True)
class Course:
    """Each simulated patient's treatment course as arrays: stage, regimen, dose and every anchor
    date (µs since epoch)."""

    stage: Arr
    regimen: Arr
    dose: Arr
    ld_days: IntArr  # 5 (days −5..−3) or 4 (days −4..−2)
    enrolment: IntArr  # µs since epoch, planned or past
    apheresis: IntArr
    ld_start: IntArr
    infusion: IntArr
    death: IntArr  # NAT when alive through follow-up
    horizon: IntArr  # last instant with data: min(infusion + follow-up, death)


def assign_stages(
    n: int, rng: np.random.Generator, weights: Mapping[str, float], acute_now: int | None
) -> Arr:
    """Each patient's stage (screening, acute, follow-up...) drawn from `weights`, with exactly
    `acute_now` acute patients when it is given."""
    unknown = set(weights) - set(STAGES)
    if unknown:
        raise ValueError(f"stages: unknown {sorted(unknown)}; expected {list(STAGES)}")
    if acute_now is None:
        return choose(rng, weights, n)
    if not 0 <= acute_now <= n:
        raise ValueError(f"acute_now must be between 0 and n_patients ({n}), got {acute_now}")
    rest = {k: v for k, v in weights.items() if k != "acute"} or {"follow_up": 1.0}
    acute = np.full(acute_now, "acute", dtype=object)
    stage = np.concatenate([acute, choose(rng, rest, n - acute_now)])
    out: Arr = stage[rng.permutation(n)]
    return out


def draw_course(
    b: Baseline,
    rng: np.random.Generator,
    p: SimParams,
    now_us: int,
    stages: Mapping[str, float],
    acute_now: int | None,
) -> Course:
    """Draw every patient's course: stage, lymphodepletion regimen, dose and the protocol dates,
    placed so that each stage holds at `now`."""
    n = b.n
    stage = assign_stages(n, rng, stages, acute_now)
    regimen = choose(rng, p.ld_regimens, n)
    dose = np.array([float(d) for d in choose(rng, p.dose_cells_per_kg, n)])
    ld_days = np.where(regimen == "flu30_cy300_d-4_-2", 4, 5).astype(np.int64)
    ago = np.zeros(n)
    for s, bounds in _INFUSION_AGO_DAYS.items():
        idx = stage == s
        ago[idx] = uniform(rng, bounds, int(idx.sum()))
    gap_ap = uniform(rng, p.screening_to_apheresis_days, n)
    gap_ld = uniform(rng, p.apheresis_to_ld_days, n)
    screening = stage == "screening"
    # Screening patients: enrolled 0–35 days ago, infusion follows the protocol's gaps.
    enrolled_ago = uniform(rng, (0.0, 35.0), n)
    ago[screening] = (enrolled_ago - gap_ap - gap_ld - ld_days)[screening]
    ago = np.where(screening, np.minimum(ago, -0.5), ago)
    day0 = (now_us - (ago * US_PER_DAY).astype(np.int64)) // US_PER_DAY * US_PER_DAY
    infusion = day0 + 10 * US_PER_HOUR + rng.integers(0, 3 * US_PER_HOUR, n)
    ld_start = day0 - ld_days * US_PER_DAY + 8 * US_PER_HOUR
    apheresis = ld_start - (gap_ld * US_PER_DAY).astype(np.int64)
    enrolment = apheresis - (gap_ap * US_PER_DAY).astype(np.int64)
    dies = rng.uniform(size=n) < p.death_share
    death_day = uniform(rng, (60.0, p.follow_up_days), n)
    death = np.where(dies, infusion + (death_day * US_PER_DAY).astype(np.int64), NAT)
    end = infusion + int(p.follow_up_days * US_PER_DAY)
    horizon = np.where(dies, np.minimum(death, end), end)
    return Course(stage, regimen, dose, ld_days, enrolment, apheresis, ld_start, infusion,
                  death, horizon)  # fmt: skip


def course_events(f: Facts, c: Course) -> None:
    """Leukapheresis, lymphodepletion drugs, infusion and the inpatient stay."""
    n = c.infusion.size
    pid = np.arange(n)
    f.event(pid, "leukapheresis", c.apheresis)
    flu = np.where(c.ld_days == 4, 30.0, 25.0)
    cy = np.where(c.ld_days == 4, 300.0, 250.0)
    for k in range(3):
        t = c.ld_start + k * US_PER_DAY
        f.event(pid, "drug_given", t, drug="fludarabine",
                details=[{"dose": float(x), "unit": "mg/m2"} for x in flu])  # fmt: skip
        f.event(pid, "drug_given", t + US_PER_HOUR, drug="cyclophosphamide",
                details=[{"dose": float(x), "unit": "mg/m2"} for x in cy])  # fmt: skip
    f.event(pid, "car_t_infusion", c.infusion,
            details=[{"dose_cells_per_kg": float(d)} for d in c.dose])  # fmt: skip


def courses_table(b: Baseline, c: Course, p: SimParams, now_us: int | None) -> dict[str, object]:
    """Raw courses columns; dates after `now_us` become NaT (None = keep every date)."""

    def cut(t: IntArr) -> Arr:
        shown = t if now_us is None else np.where(t <= now_us, t, NAT)
        out = shown.astype("datetime64[us]")
        out[shown == NAT] = np.datetime64("NaT")
        return out

    n = b.n
    return {
        "study_id": b.study_id,
        "product": np.full(n, p.product, dtype=object),
        "target": np.full(n, p.target, dtype=object),
        "dose_cells_per_kg": c.dose,
        "ld_regimen": c.regimen,
        "protocol_id": np.full(n, p.protocol_id, dtype=object),
        "enrolment_at": cut(c.enrolment),
        "apheresis_at": cut(c.apheresis),
        "ld_start_at": cut(c.ld_start),
        "infusion_at": cut(c.infusion),
    }
