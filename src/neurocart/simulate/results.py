"""What the facts that complete protocol tasks say: values, assessment inputs, event details.

Observation values are in the catalogue's canonical units and inside its possible range
(`neurocart.ingest.codes`); assessments carry the inputs of the patient's own nearest record
and are scored by the real calculators; events carry details a reader of the chart expects
(the criteria a diagnosis was confirmed by, a bridging decision and its agent, the dose of a
prophylactic drug). See `simulate/protocol.py` for when they are made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from neurocart.ingest.codes import codes as catalogue
from neurocart.simulate.calc import grade, grade_rows
from neurocart.simulate.course import Course
from neurocart.simulate.factindex import EMPTY, Key, Keyer, Stream
from neurocart.simulate.facts import US_PER_DAY, Facts, FloatArr, IntArr
from neurocart.simulate.params import SimParams
from neurocart.simulate.patients import Arr, Baseline, choose, uniform

TITER = "local:autoantibody_titer"
CSF_COPIES = "local:cart_copies_csf"
BLOOD_COPIES = "local:cart_copies_blood"
RELAPSE: Key = ("event", "relapse")


@dataclass
class Context:
    """One cohort as the protocol walk sees it: the clinical model's state, the facts so far
    by key, and the per-patient latent results."""

    f: Facts
    b: Baseline
    c: Course
    p: SimParams
    rng: np.random.Generator
    anchors: dict[str, IntArr]
    horizon: IntArr
    keyer: Keyer
    streams: dict[Key, Stream]
    latent: dict[str, FloatArr]
    bridging: Arr

    def stream(self, key: Key) -> Stream:
        return self.streams.get(key, EMPTY)


def can_value(w: Context, code: str) -> bool:
    """Whether `observation_values` can value `code` (for some patient)."""
    if code == CSF_COPIES:
        return bool(w.stream(("observation", CSF_COPIES)).pid.size)
    return (
        code == TITER or code in w.p.result_draws or bool(w.stream(("observation", code)).pid.size)
    )


@cache
def _ranges() -> dict[str, tuple[float, float, bool]]:
    return {e.code: (e.low, e.high, bool(e.values)) for e in catalogue()}


def draw_latent(b: Baseline, rng: np.random.Generator, p: SimParams) -> dict[str, FloatArr]:
    """Per-patient latent results, drawn once (in a fixed order) whether used or not."""
    n = b.n
    out: dict[str, FloatArr] = {}
    for code, (kind, x, y, z) in p.result_draws.items():
        u = rng.uniform(size=n)
        if kind == "lognormal":
            out[code] = x * np.exp(y * rng.normal(size=n))
        elif kind == "uniform":
            out[code] = x + (y - x) * u
        elif kind == "positive":
            out[code] = (u < x).astype(float)
        elif kind == "viral_load":
            level = np.exp(rng.uniform(np.log(y), np.log(z), n))
            out[code] = np.where(u < x, level, 0.0)
        else:
            raise ValueError(f"result_draws[{code!r}]: unknown kind {kind!r}")
    bounds = [p.titer_baseline_log10.get(str(s)) for s in b.subtype]
    lo = np.array([x[0] if x else np.nan for x in bounds])
    hi = np.array([x[1] if x else np.nan for x in bounds])
    out["titer0"] = lo + (hi - lo) * rng.uniform(size=n)
    primary = b.non_responder & ~b.late_relapser
    out["titer_drop"] = np.where(
        primary,
        uniform(rng, p.titer_drop_log10_non_responder, n),
        uniform(rng, p.titer_drop_log10, n),
    )
    out["titer_ramp_days"] = uniform(rng, p.gain_ramp_days, n)
    return out


def draw_bridging(b: Baseline, rng: np.random.Generator, p: SimParams) -> Arr:
    """Each patient's bridging therapy before CAR-T, or None for those without."""
    bridged = rng.uniform(size=b.n) < p.bridging_share
    agent = choose(rng, p.bridging_agents, b.n)
    out: Arr = agent.copy()
    out[~bridged] = None
    return out


def observation_values(w: Context, code: str, pid: IntArr, t: IntArr) -> FloatArr:
    """Values in the canonical unit (NaN: cannot be valued for that patient)."""
    p = w.p
    if code == TITER:
        values = _titer(w, pid, t)
    elif code == CSF_COPIES:
        values = _csf_copies(w, pid, t)
    elif code in p.result_draws:
        values = w.latent[code][pid].copy()
        if p.result_draws[code][0] == "lognormal":  # a level measured again and again
            values = values * np.exp(w.rng.normal(0.0, p.measurement_cv, pid.size))
    else:
        s = w.stream(("observation", code))
        idx = s.nearest(pid, t, w.c.infusion[pid])
        found = idx >= 0
        values = np.where(found, s.payload[np.clip(idx, 0, None)].astype(float), np.nan)
        if code in p.repeat_sd:
            values = values + w.rng.normal(0.0, p.repeat_sd[code], pid.size)
        else:
            values = values * np.exp(w.rng.normal(0.0, p.measurement_cv, pid.size))
    low, high, qualitative = _ranges()[code]
    if not qualitative:
        values = np.round(values, p.result_digits.get(code, 2))
    out: FloatArr = np.where(np.isnan(values), np.nan, np.clip(values, low, high))
    return out


def _titer(w: Context, pid: IntArr, t: IntArr) -> FloatArr:
    """The disease autoantibody as a reciprocal titre (1:10, 1:32, 1:100...; 0 = negative):
    falls over the response ramp, rises back towards baseline after a relapse."""
    lat = w.latent
    day = (t - w.c.infusion[pid]) / US_PER_DAY
    ramp = np.clip(day / lat["titer_ramp_days"][pid], 0.0, 1.0)
    log_t = lat["titer0"][pid] - lat["titer_drop"][pid] * ramp
    after = w.stream(RELAPSE).count(w.keyer, pid, w.c.infusion[pid], t) > 0
    log_t = np.where(after, np.maximum(log_t, lat["titer0"][pid] - w.p.titer_relapse_log10), log_t)
    half = np.round(2.0 * log_t)
    snapped = 10.0 ** (half // 2) * np.where(half % 2 == 1, 3.2, 1.0)
    out: FloatArr = np.where(np.isnan(log_t) | (half < 2), 0.0, np.round(snapped))
    return out


def _csf_copies(w: Context, pid: IntArr, t: IntArr) -> FloatArr:
    """Blood copies near t × the patient's CSF/blood ratio at their recorded lumbar puncture."""
    blood = w.stream(("observation", BLOOD_COPIES))
    csf = w.stream(("observation", CSF_COPIES))
    first = csf.first_of(pid)
    has = first >= 0
    if not has.any():
        return np.full(pid.size, np.nan)
    c_at = np.where(has, csf.t[np.clip(first, 0, None)], t)
    c_val = csf.payload[np.clip(first, 0, None)].astype(float)
    b_ref = _payload_at(blood, pid, c_at)
    b_now = _payload_at(blood, pid, t)
    ratio = np.where(b_ref > 0, c_val / np.where(b_ref > 0, b_ref, 1.0), 0.0)
    value = np.round(b_now * ratio * np.exp(w.rng.normal(0.0, 0.15, pid.size)))
    value = np.where(value < w.p.cart_lloq_copies, 0.0, value)
    out: FloatArr = np.where(has & ~np.isnan(b_now), value, np.nan)
    return out


def _payload_at(s: Stream, pid: IntArr, t: IntArr) -> FloatArr:
    idx = s.nearest(pid, t)
    if not s.t.size:
        return np.full(pid.size, np.nan)
    out: FloatArr = np.where(idx >= 0, s.payload[np.clip(idx, 0, None)].astype(float), np.nan)
    return out


# --- assessments and events ----------------------------------------------------------------------


def add_assessments(w: Context, instrument: str, pid: IntArr, t: IntArr) -> None:
    """The inputs of the nearest record on the same side of the infusion (before treatment or
    after), scored by the calculator."""
    s = w.stream(("assessment", instrument))
    idx = s.nearest(pid, t, w.c.infusion[pid])
    ok = idx >= 0
    pid, t, idx = pid[ok], t[ok], idx[ok]
    if not pid.size:
        return
    records = [_as_of(instrument, dict(s.payload[i]), bool(at < w.c.infusion[p]))
               for i, at, p in zip(idx, t, pid, strict=True)]  # fmt: skip
    graded = _grade(instrument, records)
    w.f.assess(pid, instrument, records, graded, t)


def _as_of(instrument: str, inputs: dict[str, Any], before_infusion: bool) -> dict[str, Any]:
    """A record's inputs carried to another visit: a core-set follow-up before treatment is
    the baseline itself (nothing has changed yet)."""
    if instrument == "imacs_tis" and before_infusion:
        return {
            k: (dict(v, follow_up=v["baseline"]) if isinstance(v, dict) and "baseline" in v else v)
            for k, v in inputs.items()
        }
    return inputs


def _grade(instrument: str, records: list[dict[str, Any]]) -> pd.DataFrame:
    """`calculate` once per distinct input (visits repeat a few distinct records)."""
    keys = [json.dumps(r, sort_keys=True, default=str) for r in records]
    distinct: dict[str, int] = {}
    firsts: list[dict[str, Any]] = []
    for key, record in zip(keys, records, strict=True):
        if key not in distinct:
            distinct[key] = len(firsts)
            firsts.append(record)
    if all(not isinstance(v, dict) for r in firsts for v in r.values()):
        names = list(dict.fromkeys(k for r in firsts for k in r))
        if all(list(r) == names for r in firsts):
            _, graded = grade(instrument, {k: [r[k] for r in firsts] for k in names})
        else:
            _, graded = grade_rows(instrument, firsts)
    else:
        _, graded = grade_rows(instrument, firsts)
    pos = np.array([distinct[k] for k in keys], dtype=np.int64)
    return graded.iloc[pos].reset_index(drop=True)


def add_events(w: Context, code: str, pid: IntArr, t: IntArr) -> None:
    """Record events of one code (`type` or `type:drug`) for patients `pid` at times `t`, skipping
    types another module already models for them."""
    p, b = w.p, w.b
    type_, _, drug = code.partition(":")
    if type_ in p.clinical_event_types:
        modelled = np.zeros(b.n, dtype=bool)
        modelled[w.stream(("event", type_)).pid] = True
        keep = ~modelled[pid]
        pid, t = pid[keep], t[keep]
    if not pid.size:
        return
    details: list[dict[str, Any]]
    if drug:
        dose = p.drug_doses.get(drug)
        details = [{"dose": dose[0], "unit": dose[1]} if dose else {} for _ in range(pid.size)]
        w.f.event(pid, type_, t, drug=drug, details=details)
        return
    if type_ == "diagnosis_confirmed":
        details = [{"criteria": p.diagnostic_criteria.get(str(b.diagnosis[i]), "by protocol"),
                    "refractory": True} for i in pid]  # fmt: skip
    elif type_ == "mri":
        details = [{"new_or_enlarging_t2": 0, "gd_enhancing": 0} for _ in pid]
    elif type_ == "bridging_decision":
        details = [{"bridging": w.bridging[i] is not None, "agent": w.bridging[i]} for i in pid]
    elif type_ == "premedication":
        details = [{"agents": list(p.premedication), "steroids": False} for _ in pid]
    elif type_ == "supportive_care":
        details = [{"measures": ["hydration", "antiemetic"]} for _ in pid]
    elif type_ == "washout_documented":
        details = [{"last_therapy": b.prior_therapies[i][-1]} for i in pid]
    elif type_ == "relapse_history_reviewed":
        details = [{"relapses_since_infusion": int(k)} for k in _relapses_before(w, pid, t)]
    else:
        details = [{} for _ in pid]
    w.f.event(pid, type_, t, details=details)


def _relapses_before(w: Context, pid: IntArr, t: IntArr) -> IntArr:
    s = w.stream(RELAPSE)
    if not s.t.size:
        return np.zeros(pid.size, dtype=np.int64)
    return s.count(w.keyer, pid, w.c.infusion[pid], t)
