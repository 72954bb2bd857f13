"""Months 1–24: disease scales, relapses, MRI, maintenance therapy, infections and deaths.

Each patient has a latent improvement trajectory (responders recover part of their deficit
over 2–6 months; primary non-responders do not; late relapsers respond, then relapse). The
scales are built from their *items* (EDSS functional systems and walking, MG-ADL, QMG, TIS
core set, INCAT arm/leg, MRC items) and scored by the real calculators.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from neurocart.simulate.calc import grade, grade_rows, optional
from neurocart.simulate.course import Course
from neurocart.simulate.facts import NAT, US_PER_DAY, Facts, FloatArr, IntArr
from neurocart.simulate.params import SimParams
from neurocart.simulate.patients import Arr, Baseline, choose, uniform
from neurocart.standards import calculate

MG_ADL_ITEMS = ("talking", "chewing", "swallowing", "breathing",
                "brushing_teeth_or_combing_hair", "arising_from_chair", "double_vision",
                "eyelid_droop")  # fmt: skip
QMG_ITEMS = ("double_vision", "ptosis", "facial_muscles", "swallowing", "speech", "right_arm",
             "left_arm", "vital_capacity", "right_grip", "left_grip", "head_lift", "right_leg",
             "left_leg")  # fmt: skip
MRC_ITEMS = tuple(
    f"{m}_{side}"
    for m in ("shoulder_abduction", "elbow_flexion", "wrist_extension", "hip_flexion",
              "knee_extension", "ankle_dorsiflexion")
    for side in ("left", "right")
)  # fmt: skip

_FS = ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder", "cerebral")


def _edss(fs: tuple[int, ...], walk: float | None, assistance: str = "none") -> dict[str, Any]:
    return dict(zip(_FS, fs, strict=True)) | {"walking_range_m": walk, "assistance": assistance}


# EDSS rungs from mild to severe: FS grades and walking, scored by the calculator on first use.
EDSS_RUNGS: tuple[dict[str, Any], ...] = (
    _edss((0, 0, 1, 0, 1, 0, 0), 1000.0),
    _edss((0, 0, 2, 0, 1, 0, 0), 1000.0),
    _edss((0, 0, 2, 0, 2, 0, 0), 1000.0),
    _edss((0, 0, 2, 2, 2, 0, 0), 1000.0),
    _edss((1, 0, 3, 2, 2, 0, 0), 1000.0),
    _edss((0, 0, 4, 2, 2, 1, 0), 1000.0),
    _edss((1, 0, 3, 2, 2, 1, 0), 400.0),
    _edss((1, 1, 3, 3, 2, 1, 0), 250.0),
    _edss((1, 1, 3, 3, 2, 2, 0), 150.0),
    _edss((1, 1, 4, 3, 2, 3, 0), 100.0, "unilateral"),
    _edss((1, 2, 4, 3, 3, 3, 1), 20.0, "bilateral"),
    _edss((2, 2, 4, 3, 3, 4, 1), None, "wheelchair_self"),
)


@cache
def edss_ladder() -> FloatArr:
    """The EDSS score of each simulated rung, mild to severe, scored once by the EDSS calculator so
    the simulator uses its scale.
    """
    return np.array([calculate("edss", r).number for r in EDSS_RUNGS])


def split_total(totals: IntArr, n_items: int, item_max: int, rng: np.random.Generator,
                weights: FloatArr | None = None) -> IntArr:  # fmt: skip
    """Spread integer totals over items of 0..item_max (rows × items), at random."""
    totals = np.clip(totals, 0, n_items * item_max)
    rows = totals.size
    prio = rng.uniform(size=(rows, n_items * item_max))
    if weights is not None:
        prio = prio * np.repeat(weights, item_max)[None, :]
    rank = np.argsort(np.argsort(-prio, axis=1), axis=1)
    chosen = rank < totals[:, None]
    out: IntArr = chosen.reshape(rows, n_items, item_max).sum(axis=2)
    return out


def improvement(
    b: Baseline, rng: np.random.Generator, p: SimParams, days: FloatArr, relapse1: FloatArr
) -> FloatArr:
    """Share of the baseline deficit recovered at each visit day (patients × visits)."""
    n = b.n
    ramp = np.clip(days[None, :] / uniform(rng, p.gain_ramp_days, n)[:, None], 0, 1)
    gain = np.where(
        b.non_responder & ~b.late_relapser,
        uniform(rng, p.non_responder_gain, n),
        uniform(rng, p.responder_gain, n),
    )
    out = gain[:, None] * ramp
    after = days[None, :] >= relapse1[:, None]
    return np.where(after, np.minimum(out, 0.0) - 0.1, out)


def outcomes(f: Facts, b: Baseline, c: Course, rng: np.random.Generator, p: SimParams) -> FloatArr:
    """All follow-up facts; returns each patient's first relapse day (NaN: none)."""
    n = b.n
    pid = np.arange(n)
    primary = b.non_responder & ~b.late_relapser
    relapse1 = np.where(
        primary,
        uniform(rng, p.primary_relapse_day, n),
        np.where(b.late_relapser, uniform(rng, p.late_relapse_day, n), np.nan),
    )
    relapse2 = np.where(primary & (rng.uniform(size=n) < 0.3),
                        relapse1 + uniform(rng, (60.0, 300.0), n), np.nan)  # fmt: skip
    days = np.array(p.scale_days, dtype=float) + 0.9
    imp = improvement(b, rng, p, days, relapse1)
    base_at = (c.enrolment + US_PER_DAY)[:, None]
    at = np.concatenate(
        [base_at, c.infusion[:, None] + (days[None, :] * US_PER_DAY).astype(np.int64)], axis=1
    )
    imp_all = np.concatenate([np.zeros((n, 1)), imp], axis=1)
    _ms_nmosd(f, b, rng, p, imp_all, at, relapse1, relapse2, c)
    _mg(f, b, rng, p, imp_all, at)
    _imnm(f, b, rng, p, imp_all, at)
    _cidp(f, b, rng, p, imp_all, at)
    _relapses(f, b, c, rng, p, relapse1, relapse2)
    _maintenance(f, b, c, rng)
    _infections(f, c, rng, p)
    dead = np.flatnonzero(c.death != NAT)
    causes = choose(rng, p.death_causes, dead.size)
    f.event(dead, "death", c.death[dead], details=[{"cause": str(x)} for x in causes])
    _ = pid
    return relapse1


def _rows(mask: Arr, at: IntArr) -> tuple[IntArr, IntArr]:
    idx = np.flatnonzero(mask)
    k = at.shape[1]
    return np.repeat(idx, k), at[idx].ravel()


def _ms_nmosd(f: Facts, b: Baseline, rng: np.random.Generator, p: SimParams, imp: FloatArr,
              at: IntArr, relapse1: FloatArr, relapse2: FloatArr, c: Course) -> None:  # fmt: skip
    mask = np.isin(b.diagnosis, ["ms", "nmosd"])
    idx = np.flatnonzero(mask)
    if not idx.size:
        return
    key = np.where(b.diagnosis[idx] == "ms", b.subtype[idx], "nmosd")
    lo = np.array([p.edss_baseline[k][0] for k in key])
    hi = np.array([p.edss_baseline[k][1] for k in key])
    e0 = rng.uniform(lo, hi)
    target = e0[:, None] - 1.5 * imp[idx]
    ladder = edss_ladder()
    rung = np.abs(target[:, :, None] - ladder[None, None, :]).argmin(axis=2).ravel()
    records = [dict(EDSS_RUNGS[r]) for r in rung]
    records, graded = grade_rows_cached("edss", records, rung)
    pid, t = _rows(mask, at)
    f.assess(pid, "edss", records, graded, t)
    # MRI: baseline, then months 3, 6, 12, 24 (new/enlarging T2, Gd-enhancing lesions).
    m_days = np.array(p.mri_days, dtype=float)
    key_all = np.where(b.diagnosis == "ms", b.subtype, "nmosd")[idx]
    base_rate = np.array([p.mri_baseline_new_t2[k] for k in key_all])
    rate = np.where(b.non_responder[idx], p.mri_non_responder_rate, p.mri_responder_rate)
    prev = np.concatenate([[-1.0], m_days[:-1]])
    recent = ((relapse1[idx, None] > prev) & (relapse1[idx, None] <= m_days)) | (
        (relapse2[idx, None] > prev) & (relapse2[idx, None] <= m_days)
    )
    lam = np.concatenate(
        [base_rate[:, None], rate[:, None] + p.mri_after_relapse_rate * recent], axis=1
    )
    t2 = rng.poisson(lam)
    gd = rng.binomial(t2, 0.4)
    m_at = np.concatenate(
        [(c.enrolment[idx] + 3 * US_PER_DAY)[:, None],
         c.infusion[idx, None] + (m_days[None, :] * US_PER_DAY).astype(np.int64)], axis=1
    )  # fmt: skip
    rows = np.repeat(idx, m_at.shape[1])
    f.event(rows, "mri", m_at.ravel(),
            details=[{"new_or_enlarging_t2": int(a), "gd_enhancing": int(g_)}
                     for a, g_ in zip(t2.ravel(), gd.ravel(), strict=True)])  # fmt: skip


def grade_rows_cached(instrument: str, records: list[dict[str, Any]],
                      keys: IntArr) -> tuple[list[dict[str, Any]], Any]:  # fmt: skip
    """Grade rows that repeat a few distinct inputs once per distinct input."""
    uniq, first = np.unique(keys, return_index=True)
    _, graded = grade_rows(instrument, [records[i] for i in first])
    pos = np.searchsorted(uniq, keys)
    return records, graded.iloc[pos].reset_index(drop=True)


def _mg(f: Facts, b: Baseline, rng: np.random.Generator, p: SimParams, imp: FloatArr,
        at: IntArr) -> None:  # fmt: skip
    mask = b.diagnosis == "mg"
    idx = np.flatnonzero(mask)
    if not idx.size:
        return
    k = at.shape[1]
    adl0 = rng.integers(p.mg_adl_baseline[0], p.mg_adl_baseline[1] + 1, idx.size)
    qmg0 = rng.integers(p.qmg_baseline[0], p.qmg_baseline[1] + 1, idx.size)
    adl = np.round(adl0[:, None] * (1 - imp[idx]) + rng.normal(0, 0.7, (idx.size, k)))
    qmg = np.round(qmg0[:, None] * (1 - imp[idx]) + rng.normal(0, 1.0, (idx.size, k)))
    adl[:, 0], qmg[:, 0] = adl0, qmg0
    adl_items = split_total(adl.astype(np.int64).ravel(), 8, 3, rng)
    qmg_items = split_total(qmg.astype(np.int64).ravel(), 13, 3, rng)
    first = np.broadcast_to(np.arange(k)[None, :] == 0, (idx.size, k)).ravel()
    prev_adl = optional(np.repeat(adl0, k), first)
    prev_qmg = optional(np.repeat(qmg0, k), first)
    pid, t = _rows(mask, at)
    cols: dict[str, Any] = {n_: adl_items[:, i] for i, n_ in enumerate(MG_ADL_ITEMS)}
    recs, graded = grade("mg_adl", cols | {"previous_total": prev_adl})
    f.assess(pid, "mg_adl", recs, graded, t)
    cols = {n_: qmg_items[:, i] for i, n_ in enumerate(QMG_ITEMS)}
    recs, graded = grade("qmg", cols | {"previous_total": prev_qmg})
    f.assess(pid, "qmg", recs, graded, t + 1_800_000_000)


def _imnm(f: Facts, b: Baseline, rng: np.random.Generator, p: SimParams, imp: FloatArr,
          at: IntArr) -> None:  # fmt: skip
    mask = b.diagnosis == "imnm"
    idx = np.flatnonzero(mask)
    if not idx.size:
        return
    m, k = idx.size, at.shape[1]
    ck0 = np.exp(rng.uniform(np.log(p.ck_baseline[0]), np.log(p.ck_baseline[1]), m))
    keep = np.clip(1 - imp[idx], 0.05, 1.4)
    ck = np.round(np.maximum(ck0[:, None] * keep**2, 60.0))
    ck[:, 0] = np.round(ck0)
    f.observe(np.repeat(idx, k), "2157-6", ck.ravel(), at[idx].ravel() + 3_600_000_000)
    mmt0 = rng.uniform(*p.mmt8_baseline, m)
    pg0, pt0 = rng.uniform(5, 8, m), rng.uniform(5, 8.5, m)
    haq0, ex0 = rng.uniform(0.8, 2.2, m), rng.uniform(1, 4, m)
    records: list[dict[str, Any]] = []
    pids: list[int] = []
    times: list[int] = []
    for j in range(m):
        for v in range(1, k):
            r = float(np.clip(imp[idx[j], v], -0.3, 1.0))

            def pair(
                b0: float, follow: float, lo: float, hi: float, nd: int = 1
            ) -> dict[str, float]:
                return {"baseline": round(b0, nd),
                        "follow_up": round(float(np.clip(follow, lo, hi)), nd)}  # fmt: skip

            records.append(
                {
                    "physician_global": pair(pg0[j], pg0[j] * (1 - r), 0, 10),
                    "patient_global": pair(pt0[j], pt0[j] * (1 - 0.8 * r), 0, 10),
                    "mmt8": pair(mmt0[j], mmt0[j] + (150 - mmt0[j]) * r, 0, 150, 0),
                    "haq": pair(haq0[j], haq0[j] * (1 - r), 0, 3, 2),
                    "muscle_enzyme": pair(float(ck[j, 0]), float(ck[j, v]), 1, 1e6, 0),
                    "extramuscular": pair(ex0[j], ex0[j] * (1 - r), 0, 10),
                    "mmt8_max": 150,
                }
            )
            pids.append(int(idx[j]))
            times.append(int(at[idx[j], v]))
    recs, graded = grade_rows("imacs_tis", records)
    f.assess(np.array(pids), "imacs_tis", recs, graded, np.array(times))


def _cidp(f: Facts, b: Baseline, rng: np.random.Generator, p: SimParams, imp: FloatArr,
          at: IntArr) -> None:  # fmt: skip
    mask = b.diagnosis == "cidp"
    idx = np.flatnonzero(mask)
    if not idx.size:
        return
    m, k = idx.size, at.shape[1]
    total0 = rng.integers(p.incat_baseline[0], p.incat_baseline[1] + 1, m)
    arm0 = np.clip(rng.integers(1, 5, m), total0 - 5, np.minimum(total0, 5))
    leg0 = total0 - arm0
    keep = np.clip(1 - imp[idx], 0, 1.5)
    arm = np.clip(np.round(arm0[:, None] * keep), 0, 5).astype(np.int64)
    leg = np.clip(np.round(leg0[:, None] * keep), 0, 5).astype(np.int64)
    first = np.arange(k)[None, :] == 0
    prev_arm = optional(np.repeat(arm0[:, None], k, 1), first & np.ones((m, 1), bool))
    prev_leg = optional(np.repeat(leg0[:, None], k, 1), first & np.ones((m, 1), bool))
    pid, t = _rows(mask, at)
    recs, graded = grade("incat", {"arm": arm.ravel(), "leg": leg.ravel(),
                                   "previous_arm": prev_arm.ravel(),
                                   "previous_leg": prev_leg.ravel()})  # fmt: skip
    f.assess(pid, "incat", recs, graded, t)
    mrc0 = rng.integers(p.mrc_baseline[0], p.mrc_baseline[1] + 1, m)
    mrc = np.clip(np.round(mrc0[:, None] + (60 - mrc0[:, None]) * imp[idx]), 20, 60)
    mrc[:, 0] = mrc0
    deficit = split_total(
        (60 - mrc).astype(np.int64).ravel(),
        12,
        5,
        rng,
        np.array([0.6, 0.6, 0.8, 0.8, 1.0, 1.0, 0.6, 0.6, 0.8, 0.8, 1.0, 1.0]),
    )
    items = 5 - deficit
    prev = optional(
        np.repeat(items.reshape(m, k, 12)[:, 0].sum(1)[:, None], k, 1),
        first & np.ones((m, 1), bool),
    )
    cols: dict[str, Any] = {n_: items[:, i] for i, n_ in enumerate(MRC_ITEMS)}
    recs, graded = grade("mrc_sum", cols | {"previous_total": prev.astype(object).ravel()})
    f.assess(pid, "mrc_sum", recs, graded, t + 1_800_000_000)


def _relapses(f: Facts, b: Baseline, c: Course, rng: np.random.Generator, p: SimParams,
              relapse1: FloatArr, relapse2: FloatArr) -> None:  # fmt: skip
    for days in (relapse1, relapse2):
        idx = np.flatnonzero(~np.isnan(days))
        onset = c.infusion[idx] + (days[idx] * US_PER_DAY).astype(np.int64)
        end = onset + (uniform(rng, (14.0, 45.0), idx.size) * US_PER_DAY).astype(np.int64)
        severity = choose(rng, {"mild": 0.4, "moderate": 0.45, "severe": 0.15}, idx.size)
        f.event(idx, "relapse", onset, end, details=[{"severity": str(s)} for s in severity])
        steroid = np.isin(b.diagnosis[idx], ["ms", "nmosd", "imnm"])
        f.event(idx[steroid], "drug_given", onset[steroid] + US_PER_DAY,
                drug="methylprednisolone",
                details={"dose": 1000.0, "unit": "mg", "days": 3})  # fmt: skip
        f.event(idx[~steroid], "drug_given", onset[~steroid] + US_PER_DAY, drug="ivig",
                details={"dose": 2.0, "unit": "g/kg", "reason": "relapse"})  # fmt: skip
        if days is relapse1:
            restart = rng.uniform(size=idx.size) < p.maintenance_restart_after_relapse
            ridx = idx[restart]
            drugs = np.array([p.maintenance_drug[d] for d in b.diagnosis[ridx]], dtype=object)
            f.event(ridx, "maintenance_started",
                    onset[restart] + (uniform(rng, (7.0, 30.0), ridx.size) * US_PER_DAY).astype(
                        np.int64), drug=drugs)  # fmt: skip


def _maintenance(f: Facts, b: Baseline, c: Course, rng: np.random.Generator) -> None:
    n = b.n
    last = np.array([pt[-1] for pt in b.prior_therapies], dtype=object)
    before = (uniform(rng, (14.0, 30.0), n) * US_PER_DAY).astype(np.int64)
    f.event(np.arange(n), "maintenance_stopped", c.apheresis - before, drug=last)


def _infections(f: Facts, c: Course, rng: np.random.Generator, p: SimParams) -> None:
    n = c.infusion.size
    count = (rng.uniform(size=n) < p.infection_share).astype(int)
    count += (count > 0) & (rng.uniform(size=n) < p.infection_second_share)
    idx = np.repeat(np.arange(n), count)
    m = idx.size
    early = rng.uniform(size=m) < p.infection_early_share
    day = np.where(early, uniform(rng, (3.0, 30.0), m), uniform(rng, (30.0, 365.0), m))
    onset = c.infusion[idx] + (day * US_PER_DAY).astype(np.int64)
    end = onset + (uniform(rng, (5.0, 21.0), m) * US_PER_DAY).astype(np.int64)
    g = choose(rng, p.infection_grades, m).astype(int)
    term = choose(rng, p.infection_terms, m)
    f.event(idx, "infection", onset, end, grade=g, term=term)
    treat = g >= 2
    f.event(idx[treat], "drug_given", onset[treat] + 6 * 3_600_000_000, drug="antimicrobial")
