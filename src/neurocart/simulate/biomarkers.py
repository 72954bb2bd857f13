"""CSF and serum proteins, oligoclonal bands and timed tests for the synthetic cohort.

Three lumbar punctures per patient — a week before lymphodepletion, day 21 and day 365 after
the infusion — each with serum drawn 30 minutes before (so the pairing rule pairs them), and
the MS timed tests at baseline and every 3 months. Distributions, chosen to resemble the
published cohorts (the simulator is a demo dataset, not evidence):

* serum albumin N(42, 3.5) g/L; albumin quotient × 10³ log-normal, median 5 in MS, NMOSD, MG
  and IMNM and 9 in CIDP (raised CSF protein is the rule in CIDP);
* IgG index log-normal, median 0.95 in MS (elevated in most MS patients), 0.6 in NMOSD, 0.5
  otherwise; κFLC index log-normal, median 40 in MS (Leurs CE, et al. Mult Scler 2020), 6 in
  NMOSD, 2.5 otherwise; serum κFLC N(13, 3) mg/L (reference 3.3–19.4);
* after BCMA CAR-T, responders' intrathecal indices fall (× 0.75 at day 21, × 0.45 at one
  year for κFLC; × 0.85 / × 0.7 for the IgG index), non-responders' stay;
* CSF-restricted oligoclonal bands in 90 % of MS, 20 % of NMOSD and 5 % of the other
  diseases, 2 + Poisson(6) bands; 15 % of positive responders lose them by one year;
* T25FW log-normal median 7 s, 9-hole peg test 25 s, SDMT N(45, 10); non-responders worsen
  (T25FW + 12 % and SDMT − 2 points per 6 months).

The serum IgG used for the CSF IgG is the cohort's own IgG course (the kinetics model), so the
IgG index and the serum IgG the report shows agree.
"""

from __future__ import annotations

import numpy as np

from neurocart.simulate.course import Course
from neurocart.simulate.facts import US_PER_DAY, US_PER_HOUR, Facts, FloatArr, IntArr
from neurocart.simulate.params import SimParams
from neurocart.simulate.patients import Baseline

LP_DAYS = (21, 365)
TIMED_DAYS = (90, 180, 270, 365, 540, 730)
QALB_MEDIAN = {"cidp": 9.0}
IGG_INDEX_MEDIAN = {"ms": 0.95, "nmosd": 0.6}
KFLC_INDEX_MEDIAN = {"ms": 40.0, "nmosd": 6.0}
OCB_POSITIVE = {"ms": 0.9, "nmosd": 0.2}
KFLC_FALL = {21: 0.75, 365: 0.45}
IGG_INDEX_FALL = {21: 0.85, 365: 0.7}


def _by(diagnosis: np.ndarray, table: dict[str, float], default: float) -> FloatArr:
    return np.array([table.get(str(d), default) for d in diagnosis], dtype=float)


def _serum_igg(f: Facts, n: int, at: IntArr) -> FloatArr:
    """The cohort's own serum IgG nearest in time to each instant of `at` (n × k)."""
    chunks = [(pid, v, t) for pid, code, v, t in f.obs if code == "2465-3"]
    out = np.full(at.shape, 10.0)
    if not chunks:
        return out
    pid = np.concatenate([c[0] for c in chunks])
    val = np.concatenate([c[1] for c in chunks])
    t = np.concatenate([c[2] for c in chunks])
    for i in range(n):
        mine = pid == i
        if mine.any():
            ti, vi = t[mine], val[mine]
            nearest = np.abs(ti[None, :] - at[i][:, None]).argmin(axis=1)
            out[i] = vi[nearest]
    return out


def biomarkers(f: Facts, b: Baseline, c: Course, rng: np.random.Generator, p: SimParams) -> None:
    """Add the lumbar punctures' CSF/serum values, oligoclonal bands and MS timed tests."""
    n = b.n
    if n == 0:
        return
    dx = b.diagnosis
    responder = ~np.asarray(b.non_responder, dtype=bool)
    lp_at = np.concatenate(
        [(c.ld_start - 7 * US_PER_DAY)[:, None],
         c.infusion[:, None] + (np.array(LP_DAYS)[None, :] * US_PER_DAY).astype(np.int64)],
        axis=1,
    )  # fmt: skip
    k = lp_at.shape[1]
    serum_at = lp_at - US_PER_HOUR // 2
    pid = np.repeat(np.arange(n), k)
    # barrier: albumin quotient × 10³ and serum albumin
    alb_s = np.clip(rng.normal(42.0, 3.5, (n, k)), 28.0, 52.0)
    q0 = _by(dx, QALB_MEDIAN, 5.0) * np.exp(rng.normal(0, 0.3, n))
    qalb = q0[:, None] * np.exp(rng.normal(0, 0.08, (n, k)))
    alb_csf = qalb * alb_s  # mg/L = (× 10⁻³) × g/L × 1000 / 1000
    # intrathecal IgG and κ free light chains
    fall = np.ones((n, k))
    kfall = np.ones((n, k))
    for j, day in enumerate(LP_DAYS, start=1):
        fall[:, j] = np.where(responder, IGG_INDEX_FALL[day], 1.0)
        kfall[:, j] = np.where(responder, KFLC_FALL[day], 0.95)
    igg_index = _by(dx, IGG_INDEX_MEDIAN, 0.5) * np.exp(rng.normal(0, 0.25, n))
    igg_index = igg_index[:, None] * fall * np.exp(rng.normal(0, 0.05, (n, k)))
    igg_s = _serum_igg(f, n, serum_at)
    igg_csf = igg_index * qalb * igg_s  # (QIgG = index × QAlb) × serum IgG, in mg/L
    kflc_index = _by(dx, KFLC_INDEX_MEDIAN, 2.5) * np.exp(rng.normal(0, 0.7, n))
    kflc_index = kflc_index[:, None] * kfall * np.exp(rng.normal(0, 0.08, (n, k)))
    kflc_s = np.clip(rng.normal(13.0, 3.0, (n, k)), 4.0, 30.0)
    kflc_csf = kflc_index * (qalb / 1000.0) * kflc_s
    f.observe(pid, "1751-7", np.round(alb_s, 1), serum_at)
    f.observe(pid, "1746-7", np.round(alb_csf, 0), lp_at)
    f.observe(pid, "2465-3", np.round(igg_s, 2), serum_at)
    f.observe(pid, "2464-6", np.round(igg_csf, 1), lp_at)
    f.observe(pid, "local:kflc_serum", np.round(kflc_s, 2), serum_at)
    f.observe(pid, "local:kflc_csf", np.round(kflc_csf, 3), lp_at)
    # oligoclonal bands
    positive = rng.random(n) < _by(dx, OCB_POSITIVE, 0.05)
    bands = np.where(positive, 2 + rng.poisson(6.0, n), rng.binomial(1, 0.1, n))
    lose = positive & responder & (rng.random(n) < 0.15)
    grid = np.repeat(bands[:, None], k, axis=1)
    grid[:, -1] = np.where(lose, rng.binomial(1, 0.3, n), grid[:, -1])
    identical = np.where(rng.random(n) < 0.15, 2 + rng.poisson(2.0, n), 0)
    f.observe(pid, "49852-7", grid.astype(float), lp_at)
    f.observe(pid, "local:ocb_identical_bands", np.repeat(identical, k).astype(float), lp_at)
    _timed(f, b, c, rng, responder)


def _timed(
    f: Facts, b: Baseline, c: Course, rng: np.random.Generator, responder: np.ndarray
) -> None:
    ms = np.flatnonzero(b.diagnosis == "ms")
    if not ms.size:
        return
    days = np.array(TIMED_DAYS, dtype=float)
    at = np.concatenate(
        [(c.ld_start[ms] - 7 * US_PER_DAY)[:, None],
         c.infusion[ms, None] + (days[None, :] * US_PER_DAY).astype(np.int64)],
        axis=1,
    )  # fmt: skip
    months = np.concatenate([[0.0], days / 30.4375])
    worse = np.where(responder[ms], 0.0, 1.0)[:, None] * (months[None, :] / 6.0)
    shape = at.shape
    t25 = 7.0 * np.exp(rng.normal(0, 0.35, ms.size))[:, None] * (1 + 0.12 * worse)
    t25 = np.clip(t25 * np.exp(rng.normal(0, 0.05, shape)), 2.0, 170.0)
    peg = 25.0 * np.exp(rng.normal(0, 0.25, ms.size))[:, None] * (1 + 0.05 * worse)
    peg = np.clip(peg * np.exp(rng.normal(0, 0.05, shape)), 10.0, 290.0)
    sdmt = np.clip(rng.normal(45, 10, ms.size), 10, 80)[:, None] - 2.0 * worse
    sdmt = np.clip(np.round(sdmt + rng.normal(0, 2.0, shape)), 0, 110)
    pid = np.repeat(ms, shape[1])
    f.observe(pid, "local:t25fw", np.round(t25, 1), at)
    f.observe(pid, "local:nhpt", np.round(peg, 1), at)
    f.observe(pid, "local:sdmt", sdmt, at)
