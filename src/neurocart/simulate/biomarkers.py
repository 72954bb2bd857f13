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
  (T25FW + 12 % and SDMT − 2 points per 6 months);
* λ free light chains beside κ: serum λFLC N(15, 3.5) mg/L (reference 5.7–26.3), λFLC index
  log-normal, median 8 in MS and 1.5 otherwise (lower and less specific than κ: Leurs CE, et
  al. 2020), falling like the κFLC index;
* MRI scan records (MS, NMOSD) of the scans the clinical model draws (`simulate.outcomes`):
  the baseline read without a comparator, later ones against the previous scan, 3 T with 3D
  FLAIR and gadolinium; three quarters of the active T2 lesions new, the rest enlarging; T2
  lesion volume log-normal, median 6 mL in MS and 3 mL in NMOSD, + 0.15 mL per active lesion;
  brain volume N(1450, 110) mL losing 0.25 %/year in responders and 0.6 %/year otherwise
  (the NEDA-4 limit is 0.4 %/year);
* nerve-conduction studies (CIDP) at baseline, month 6 and month 12 on the right median,
  ulnar, peroneal and tibial nerves with illustrative lab limits: a demyelinating severity
  U(0.5, 1) per patient prolongs distal latencies and F waves, slows conduction and lowers
  and blocks CMAPs (most baselines meet the EAN/PNS 2021 criteria); responders' severity
  falls to 55 % at month 6 and 40 % at month 12 (nerve conduction recovers, as reported
  after CAR-T in CIDP), non-responders' stays.

The serum IgG used for the CSF IgG is the cohort's own IgG course (the kinetics model), so the
IgG index and the serum IgG the report shows agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurocart.simulate.course import Course
from neurocart.simulate.facts import US_PER_DAY, US_PER_HOUR, Facts, FloatArr, IntArr, us_date
from neurocart.simulate.params import SimParams
from neurocart.simulate.patients import Baseline

LP_DAYS = (21, 365)
TIMED_DAYS = (90, 180, 270, 365, 540, 730)
QALB_MEDIAN = {"cidp": 9.0}
IGG_INDEX_MEDIAN = {"ms": 0.95, "nmosd": 0.6}
KFLC_INDEX_MEDIAN = {"ms": 40.0, "nmosd": 6.0}
OCB_POSITIVE = {"ms": 0.9, "nmosd": 0.2}
LFLC_INDEX_MEDIAN = {"ms": 8.0}
KFLC_FALL = {21: 0.75, 365: 0.45}
T2_VOLUME_MEDIAN_ML = {"ms": 6.0, "nmosd": 3.0}
BRAIN_LOSS_PER_YEAR = (0.0025, 0.006)
"""Fractional brain-volume loss per year: responders, non-responders."""
NCS_DAYS = (180, 365)
NCS_RECOVERY = {180: 0.55, 365: 0.4}
NCS_LIMITS = {  # nerve: DL ULN ms, CMAP LLN mV, CV LLN m/s, F ULN ms (illustrative)
    "median": (4.4, 4.0, 49.0, 31.0),
    "ulnar": (3.3, 6.0, 49.0, 32.0),
    "peroneal": (6.5, 2.0, 44.0, 56.0),
    "tibial": (5.8, 4.0, 41.0, 56.0),
}
CMAP_DURATION_MS = {"median": 6.6, "ulnar": 6.7, "peroneal": 7.6, "tibial": 8.8}
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
    # drawn after everything above, so the values above do not change with them
    lflc_index = _by(dx, LFLC_INDEX_MEDIAN, 1.5) * np.exp(rng.normal(0, 0.6, n))
    lflc_index = lflc_index[:, None] * kfall * np.exp(rng.normal(0, 0.08, (n, k)))
    lflc_s = np.clip(rng.normal(15.0, 3.5, (n, k)), 5.0, 35.0)
    f.observe(pid, "local:lflc_serum", np.round(lflc_s, 2), serum_at)
    f.observe(pid, "local:lflc_csf", np.round(lflc_index * (qalb / 1000.0) * lflc_s, 3), lp_at)
    _mri_scans(f, b, rng, responder)
    _ncs(f, b, c, rng, responder)


def _mri_scans(f: Facts, b: Baseline, rng: np.random.Generator, responder: np.ndarray) -> None:
    """One MRI scan record per scan the clinical model drew (its `mri` events), in time order."""
    chunks = [e for e in f.events if e["type"] == "mri"]
    if not chunks:
        return
    pid = np.concatenate([e["pid"] for e in chunks])
    at = np.concatenate([e["onset"] for e in chunks])
    details = [d for e in chunks for d in e["details"]]
    order = np.lexsort((at, pid))
    volume0 = _by(b.diagnosis, T2_VOLUME_MEDIAN_ML, 3.0) * np.exp(rng.normal(0, 0.6, b.n))
    brain0 = rng.normal(1450.0, 110.0, b.n)
    loss = np.where(responder, *BRAIN_LOSS_PER_YEAR)
    noise = rng.normal(0.0, 1.0, order.size)
    new_share = rng.binomial(1, 0.75, (order.size, 50))  # per-lesion draw: new or enlarging
    rows: list[dict[str, Any]] = []
    previous: dict[int, tuple[int, int]] = {}
    volume = volume0.copy()
    for j, i in enumerate(order):
        p, t = int(pid[i]), int(at[i])
        active, gd = int(details[i]["new_or_enlarging_t2"]), int(details[i]["gd_enhancing"])
        first = previous.get(p)
        volume[p] += 0.15 * active if first is not None else 0.0
        years = 0.0 if first is None else (t - first[1]) / US_PER_DAY / 365.25
        new = int(new_share[j, : min(active, 50)].sum())
        rows.append({
            "comparator_date": None if first is None else us_date(first[0]),
            "region": "brain", "field_strength_t": 3.0, "contrast_given": True,
            "new_t2_lesions": None if first is None else new,
            "enlarging_t2_lesions": None if first is None else active - new,
            "gd_enhancing_lesions": gd,
            "t2_lesion_volume_ml": round(float(volume[p]), 1),
            "brain_volume_ml": round(float(brain0[p] * (1 - loss[p] * years) + noise[j]), 1),
            "pbvc_percent": None,
        })  # fmt: skip
        previous[p] = (t, first[1] if first is not None else t)
    f.record("mri_scans", pid[order], at[order], rows)


def _ncs(f: Facts, b: Baseline, c: Course, rng: np.random.Generator, responder: np.ndarray) -> None:
    """CIDP patients' nerve-conduction studies: baseline, month 6 and month 12."""
    cidp = np.flatnonzero(b.diagnosis == "cidp")
    if not cidp.size:
        return
    at = np.concatenate(
        [(c.ld_start[cidp] - 10 * US_PER_DAY)[:, None],
         c.infusion[cidp, None] + (np.array(NCS_DAYS)[None, :] * US_PER_DAY).astype(np.int64)],
        axis=1,
    )  # fmt: skip
    severity = rng.uniform(0.5, 1.0, cidp.size)
    spread = rng.uniform(0.6, 1.2, (cidp.size, len(NCS_LIMITS)))  # how hard each nerve is hit
    blocked = rng.random((cidp.size, len(NCS_LIMITS))) < 0.4
    rows = []
    for i, p in enumerate(cidp):
        for day in (0, *NCS_DAYS):
            factor = 1.0 if day == 0 else (NCS_RECOVERY[day] if responder[p] else 1.05)
            nerves = []
            for k, (nerve, (dl_uln, cmap_lln, cv_lln, f_uln)) in enumerate(NCS_LIMITS.items()):
                hit = severity[i] * spread[i, k] * factor
                jitter = np.exp(rng.normal(0, 0.04, 4))
                distal = cmap_lln * (1.5 - 0.8 * hit) * jitter[3]
                block = 0.45 * hit if blocked[i, k] and nerve != "tibial" else 0.05 * hit
                duration = CMAP_DURATION_MS[nerve] * (0.75 + 0.35 * hit)
                nerves.append({
                    "nerve": nerve, "side": "right",
                    "distal_latency_ms": round(dl_uln * (1 + 0.75 * hit) * jitter[0], 1),
                    "distal_latency_uln_ms": dl_uln,
                    "conduction_velocity_m_s": round(cv_lln * (1 - 0.4 * hit) * jitter[1], 1),
                    "conduction_velocity_lln_m_s": cv_lln,
                    "f_wave_latency_ms": round(f_uln * (1 + 0.45 * hit) * jitter[2], 1),
                    "f_wave_uln_ms": f_uln, "f_waves_absent": False,
                    "cmap_distal_mv": round(max(distal, 0.2), 1),
                    "cmap_proximal_mv": round(max(distal * (1 - block), 0.1), 1),
                    "cmap_lln_mv": cmap_lln,
                    "cmap_duration_distal_ms": round(duration, 1),
                    "cmap_duration_proximal_ms": round(duration * (1 + 0.2 * hit), 1),
                    "carpal_tunnel": False,
                })  # fmt: skip
            rows.append({"lab": "simulated EMG lab", "nerves": nerves, "sensory_nerves": []})
    f.record("ncs_studies", np.repeat(cidp, at.shape[1]), at.ravel(), rows)


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
