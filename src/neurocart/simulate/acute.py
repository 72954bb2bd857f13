"""Days 0–14 and the blood counts: CRS, ICANS, vital signs, daily labs, cytopenias.

Each patient's CRS is a latent episode (onset, duration, target grade, windows of
hypotension and hypoxia, tocilizumab/steroid times); vital signs are a function of time and
that state (`vital_signs`), so the demo can ask for the next vitals at any instant. The CRS
and ICANS grades written down are what the real calculators make of the simulated findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocart.simulate.calc import grade, optional
from neurocart.simulate.course import Course
from neurocart.simulate.facts import NAT, US_PER_HOUR, Facts, FloatArr, IntArr
from neurocart.simulate.params import SimParams
from neurocart.simulate.patients import Arr, Baseline, choose, uniform

VITAL_SLOTS = 90  # every 4 h, days 0–14
ICE_SLOTS = 30  # every 12 h, days 0–14
ACUTE_DAYS = 15
NAN = np.nan


@dataclass(frozen=True)
class AcuteState:
    """Latent CRS/ICANS course and vital baselines; times in hours after infusion (NaN: none)."""

    crs_grade: IntArr  # target grade, 0 = no CRS
    onset_h: FloatArr
    end_h: FloatArr
    peak_c: FloatArr
    toci_h: FloatArr
    dex_h: FloatArr
    hypo_from: FloatArr
    hypo_to: FloatArr
    pressors: IntArr
    hypox_from: FloatArr
    hypox_to: FloatArr
    o2_device: Arr
    o2_flow: FloatArr
    icans_grade: IntArr
    icans_from: FloatArr
    icans_to: FloatArr
    temp0: FloatArr
    hr0: FloatArr
    sbp0: FloatArr
    dbp0: FloatArr
    spo20: FloatArr
    rr0: FloatArr

    def fever_end(self) -> FloatArr:
        treated = np.fmin(self.toci_h, self.dex_h)
        return np.where(np.isnan(treated), self.end_h, np.fmin(self.end_h, treated + 4.0))

    def take(self, idx: Any) -> AcuteState:
        return AcuteState(**{k: np.atleast_1d(getattr(self, k)[idx]) for k in _FIELDS})


_FIELDS = tuple(AcuteState.__dataclass_fields__)


def draw_acute_state(b: Baseline, rng: np.random.Generator, p: SimParams) -> AcuteState:
    """Draw each patient's CRS and ICANS course (whether, when, how severe, how long) from the
    published rates in `p`."""
    n = b.n
    has = rng.uniform(size=n) < p.crs_incidence
    g = np.where(has, choose(rng, p.crs_grades, n).astype(int), 0).astype(np.int64)
    onset = (
        np.clip(
            p.crs_onset_median_days * np.exp(rng.normal(0, p.crs_onset_sigma, n)),
            *p.crs_onset_range_days,
        )
        * 24.0
    )
    dur = uniform(rng, p.crs_duration_days, n) * 24.0
    dur = np.where(g >= 3, np.maximum(dur, 60.0), dur)
    peak = np.zeros(n)
    for grade_, bounds in p.fever_peak_c.items():
        idx = g == grade_
        peak[idx] = uniform(rng, bounds, int(idx.sum()))
    # Organ support window (grade ≥ 2) inside the episode, ≥ 8 h so that vitals catch it.
    f_start = onset + uniform(rng, (0.15, 0.45), n) * dur
    f_len = np.maximum(8.0, uniform(rng, (0.3, 0.5), n) * dur)
    f_end = np.minimum(f_start + f_len, onset + dur)
    f_start = np.minimum(f_start, f_end - 8.0)
    r = rng.uniform(size=n)
    severe_hypo = rng.uniform(size=n) < 0.5
    hypo = ((g == 2) & (r < p.grade2_hypotension)) | ((g >= 3) & severe_hypo)
    hypox = ((g == 2) & ((r >= 1 - p.grade2_hypoxia) | ~hypo)) | ((g >= 3) & ~severe_hypo)
    pressors = np.where(hypo & (g == 3), 1, np.where(hypo & (g == 4), 2, 0)).astype(np.int64)
    device = np.full(n, "none", dtype=object)
    device[hypox & (g == 2)] = "nasal_cannula"
    device[hypox & (g == 3)] = "high_flow_nasal_cannula"
    device[hypox & (g == 4)] = "cpap"
    flow = np.where(
        device == "nasal_cannula",
        np.round(uniform(rng, (1.0, 5.0), n)),
        np.where(device == "high_flow_nasal_cannula", np.round(uniform(rng, (20, 40), n)), NAN),
    )
    feature_from = np.where(g >= 2, f_start, NAN)
    long_g1 = (g == 1) & (dur > 72.0) & (rng.uniform(size=n) < p.tocilizumab_grade1_long_fever)
    toci = np.where(
        g >= 2, f_start + uniform(rng, (0.5, 2.0), n), np.where(long_g1, onset + 72.0, NAN)
    )
    dex = np.where(
        g >= 3,
        feature_from + 3.0,
        np.where((g == 2) & (rng.uniform(size=n) < p.dexamethasone_grade2), toci + 12.0, NAN),
    )
    icans = has & (rng.uniform(size=n) < p.icans_given_crs)
    ig = np.where(icans, np.where(rng.uniform(size=n) < p.icans_grade2_share, 2, 1), 0)
    i_from = np.where(icans, onset + uniform(rng, p.icans_delay_days, n) * 24.0, NAN)
    i_to = i_from + uniform(rng, p.icans_duration_days, n) * 24.0
    return AcuteState(
        crs_grade=g,
        onset_h=np.where(has, onset, NAN),
        end_h=np.where(has, onset + dur, NAN),
        peak_c=peak,
        toci_h=toci,
        dex_h=dex,
        hypo_from=np.where(hypo, f_start, NAN),
        hypo_to=np.where(hypo, f_end, NAN),
        pressors=pressors,
        hypox_from=np.where(hypox, f_start, NAN),
        hypox_to=np.where(hypox, f_end, NAN),
        o2_device=device,
        o2_flow=flow,
        icans_grade=ig.astype(np.int64),
        icans_from=i_from,
        icans_to=i_to,
        temp0=rng.normal(*p.temp_base, n),
        hr0=rng.normal(*p.hr_base, n),
        sbp0=rng.normal(*p.sbp_base, n),
        dbp0=rng.normal(*p.dbp_base, n),
        spo20=np.clip(rng.normal(*p.spo2_base, n), 95.0, 99.5),
        rr0=rng.normal(*p.rr_base, n),
    )


def _within(h: FloatArr, start: FloatArr, end: FloatArr) -> Any:
    return (h >= start[:, None]) & (h < end[:, None])


def vital_signs(h: FloatArr, s: AcuteState, rng: np.random.Generator) -> dict[str, FloatArr]:
    """Vital signs at hours `h` (patients × times) after infusion, given the CRS state."""
    shape = h.shape
    noise = rng.normal(size=(6, *shape))
    fever = _within(h, s.onset_h, s.fever_end())
    span = np.maximum(s.fever_end() - s.onset_h, 1.0)[:, None]
    bump = np.clip(np.sin(np.pi * (h - s.onset_h[:, None]) / span), 0.3, 1.0)
    normal_t = np.minimum(s.temp0[:, None] + 0.15 * noise[0], 37.7)
    febrile = 38.05 + (s.peak_c[:, None] - 38.05) * bump + 0.05 * np.abs(noise[0])
    temp = np.round(np.where(fever, febrile, normal_t), 1)
    hypo = _within(h, s.hypo_from, s.hypo_to)
    hypox = _within(h, s.hypox_from, s.hypox_to)
    desat = hypox & (h < s.hypox_from[:, None] + 4.0)
    hr = s.hr0[:, None] + 12.0 * np.clip(temp - 37.0, 0, None) + 4.0 * noise[1] + 15.0 * hypo
    sbp = np.where(
        hypo,
        82.0 + 3.0 * np.clip(noise[2], -2, 2),
        np.maximum(s.sbp0[:, None] + 6.0 * noise[2], 96.0),
    )
    dbp = np.where(
        hypo,
        48.0 + 3.0 * np.clip(noise[3], -2, 2),
        np.clip(s.dbp0[:, None] + 4.0 * noise[3], 55.0, sbp - 20.0),
    )
    spo2 = np.where(
        desat,
        87.0 + np.clip(noise[4], -2, 2),
        np.where(
            hypox,
            93.0 + np.clip(noise[4], -2, 2),
            np.clip(s.spo20[:, None] + 0.6 * noise[4], 93.0, 100.0),
        ),
    )
    rr = s.rr0[:, None] + 1.2 * noise[5] + 1.5 * np.clip(temp - 37.0, 0, None) + 6.0 * hypox
    return {
        "8310-5": temp,
        "8867-4": np.round(np.clip(hr, 45, 170)),
        "8480-6": np.round(sbp),
        "8462-4": np.round(dbp),
        "59408-5": np.round(spo2),
        "9279-1": np.round(np.clip(rr, 10, 40)),
    }


def _abs(c: Course, h: FloatArr) -> IntArr:
    return c.infusion[:, None] + (np.nan_to_num(h) * US_PER_HOUR).astype(np.int64)


def acute_course(
    f: Facts, b: Baseline, c: Course, s: AcuteState, rng: np.random.Generator, p: SimParams
) -> None:
    """Vitals, ICE/ICANS, daily CRS grading and the CRS/ICANS events of days 0–14."""
    n = b.n
    pid = np.arange(n)
    grid = np.broadcast_to(pid[:, None], (n, VITAL_SLOTS))
    h = 4.0 * np.arange(VITAL_SLOTS)[None, :] + 0.25 + rng.uniform(0, 0.3, (n, VITAL_SLOTS))
    vitals = vital_signs(h, s, rng)
    t = _abs(c, h)
    for code, values in vitals.items():
        f.observe(grid, code, values, t)
    _crs_grading(f, c, s, vitals, h)
    _ice(f, b, c, s, rng, p)
    _acute_events(f, c, s)


def _crs_grading(
    f: Facts, c: Course, s: AcuteState, vitals: dict[str, FloatArr], h: FloatArr
) -> None:
    n = h.shape[0]
    day = np.arange(ACUTE_DAYS)
    temp = vitals["8310-5"].reshape(n, ACUTE_DAYS, 6)
    sbp = vitals["8480-6"].reshape(n, ACUTE_DAYS, 6)
    lo, hi = day[None, :] * 24.0, day[None, :] * 24.0 + 24.0
    treated = np.fmin(s.toci_h, s.dex_h)[:, None]
    in_crs = (s.onset_h[:, None] < hi) & (s.end_h[:, None] >= lo)
    masked = in_crs & (treated < hi)
    hypo_day = (s.hypo_from[:, None] < hi) & (s.hypo_to[:, None] >= lo)
    hypox_day = (s.hypox_from[:, None] < hi) & (s.hypox_to[:, None] >= lo)
    device = np.where(hypox_day, s.o2_device[:, None], "none")
    flow = np.where(hypox_day & ~np.isnan(s.o2_flow)[:, None], s.o2_flow[:, None], NAN)
    flow_obj = optional(flow, np.isnan(flow))
    inputs, graded = grade(
        "crs",
        {
            "temperature_c": temp.max(axis=2).ravel(),
            "fever_masked": masked.ravel(),
            "hypotension": (sbp < 90).any(axis=2).ravel(),
            "vasopressors": np.where(hypo_day, s.pressors[:, None], 0).ravel(),
            "oxygen_device": device.ravel(),
            "oxygen_flow_l_min": flow_obj.ravel(),
        },
    )
    pid = np.broadcast_to(np.arange(n)[:, None], (n, ACUTE_DAYS))
    f.assess(pid, "crs", inputs, graded, _abs(c, np.broadcast_to(lo + 21.0, (n, ACUTE_DAYS))))
    worst = graded["value"].to_numpy().reshape(n, ACUTE_DAYS).max(axis=1)
    has = (s.crs_grade > 0) & (worst > 0)
    idx = np.flatnonzero(has)
    f.event(idx, "adverse_event", _abs(c, s.onset_h[:, None])[idx, 0],
            _abs(c, s.end_h[:, None])[idx, 0], grade=worst[idx], term="crs")  # fmt: skip


def _ice(
    f: Facts, b: Baseline, c: Course, s: AcuteState, rng: np.random.Generator, p: SimParams
) -> None:
    n = b.n
    deficit_p = np.array([p.baseline_ice_deficit[d] for d in b.diagnosis])
    deficit = rng.uniform(size=n) < deficit_p
    which = rng.integers(0, 3, n)  # writing (hand weakness), naming (visual loss), attention
    base: dict[str, IntArr] = {
        "orientation": np.full(n, 4),
        "naming": np.where(deficit & (which == 1), 2, 3),
        "commands": np.ones(n, dtype=int),
        "writing": np.where(deficit & (which == 0), 0, 1),
        "attention": np.where(deficit & (which == 2), 0, 1),
    }
    base_total: IntArr = np.sum(list(base.values()), axis=0)
    # Pre-infusion baselines: at screening and at the start of lymphodepletion.
    pre_h = np.stack(
        [
            (c.enrolment - c.infusion) / US_PER_HOUR + 30.0,
            (c.ld_start - c.infusion) / US_PER_HOUR + 2.0,
        ],
        axis=1,
    )
    h = np.concatenate([pre_h, 12.0 * np.arange(ICE_SLOTS)[None, :] + 8.0 + 0 * pre_h[:, :1]], 1)
    k = h.shape[1]
    items = {name: np.repeat(v[:, None], k, axis=1) for name, v in base.items()}
    icans = _within(h, s.icans_from, s.icans_to)
    g1 = icans & (s.icans_grade[:, None] == 1)
    g2 = icans & (s.icans_grade[:, None] == 2)
    items["attention"] = np.where(icans, 0, items["attention"])
    items["writing"] = np.where(icans, 0, items["writing"])
    items["naming"] = np.where(
        g1 & (base_total[:, None] < 10), np.minimum(items["naming"], 2), items["naming"]
    )
    items["naming"] = np.where(g2, rng.integers(1, 3, (n, k)), items["naming"])
    items["orientation"] = np.where(g2, rng.integers(1, 3, (n, k)), items["orientation"])
    pid = np.broadcast_to(np.arange(n)[:, None], (n, k))
    t = _abs(c, h)
    inputs, graded = grade("ice", {name: v.ravel() for name, v in items.items()})
    f.assess(pid, "ice", inputs, graded, t)
    ice_score = graded["value"].to_numpy().astype(int)
    consciousness = np.where(
        g2 & (rng.uniform(size=(n, k)) < 0.5), "awakens_to_voice", "normal"
    ).astype(object)
    baseline = optional(base_total, base_total >= 10)
    icans_inputs, icans_graded = grade(
        "icans",
        {
            "ice_score": ice_score,
            "consciousness": consciousness.ravel(),
            "baseline_ice_score": np.repeat(baseline[:, None], k, axis=1).ravel(),
        },
    )
    f.assess(pid, "icans", icans_inputs, icans_graded, t + 60_000_000)
    worst = icans_graded["value"].to_numpy().reshape(n, k).max(axis=1)
    idx = np.flatnonzero((s.icans_grade > 0) & (worst > 0))
    f.event(idx, "adverse_event", _abs(c, s.icans_from[:, None])[idx, 0],
            _abs(c, s.icans_to[:, None])[idx, 0], grade=worst[idx], term="icans")  # fmt: skip
    dex_idx = np.flatnonzero(s.icans_grade == 2)
    f.event(dex_idx, "drug_given", _abs(c, s.icans_from[:, None] + 6.0)[dex_idx, 0],
            drug="dexamethasone", details={"dose": 10.0, "unit": "mg"})  # fmt: skip


def _acute_events(f: Facts, c: Course, s: AcuteState) -> None:
    def at(hours: FloatArr, idx: IntArr) -> IntArr:
        out: IntArr = _abs(c, hours[:, None])[idx, 0]
        return out

    toci = np.flatnonzero(~np.isnan(s.toci_h))
    f.event(toci, "drug_given", at(s.toci_h, toci), drug="tocilizumab",
            details={"dose": 8.0, "unit": "mg/kg"})  # fmt: skip
    again = toci[s.crs_grade[toci] >= 3]
    f.event(again, "drug_given", at(s.toci_h + 8.0, again), drug="tocilizumab",
            details={"dose": 8.0, "unit": "mg/kg"})  # fmt: skip
    dex = np.flatnonzero(~np.isnan(s.dex_h))
    for k in range(3):
        chosen = dex if k == 0 else dex[s.crs_grade[dex] >= 3]
        f.event(chosen, "drug_given", at(s.dex_h + 6.0 * k, chosen), drug="dexamethasone",
                details={"dose": 10.0, "unit": "mg"})  # fmt: skip
    hypo = np.flatnonzero(s.pressors > 0)
    f.event(hypo, "drug_given", at(s.hypo_from, hypo), at(s.hypo_to, hypo), drug="vasopressor",
            details={"agent": "norepinephrine"})  # fmt: skip
    two = hypo[s.pressors[hypo] >= 2]
    f.event(two, "drug_given", at(s.hypo_from + 2.0, two), at(s.hypo_to, two),
            drug="vasopressor", details={"agent": "phenylephrine"})  # fmt: skip
    ox = np.flatnonzero(~np.isnan(s.hypox_from))
    f.event(
        ox, "oxygen_support", at(s.hypox_from, ox), at(s.hypox_to, ox),
        details=[
            {"device": str(s.o2_device[i]),
             "flow_l_min": None if np.isnan(s.o2_flow[i]) else float(s.o2_flow[i])}
            for i in ox
        ],
    )  # fmt: skip
    n = c.infusion.size
    stay = np.where(s.crs_grade >= 3, 20.0, 15.0) * 24.0
    f.event(np.arange(n), "hospitalization", c.ld_start,
            at(stay, np.arange(n)), details={"reason": "car_t"})  # fmt: skip


# --- blood counts and chemistry ----------------------------------------------------------

LAB_DAYS = np.array([*range(15), 17, 21, 24, 28, 60, 90, 180, 270, 365, 540, 730], dtype=float)
IL6_DAYS = (0, 1, 3, 5, 7, 10, 14)


def _kernel(h: FloatArr, peak_h: FloatArr, rise: float, tau: float) -> FloatArr:
    x = h - peak_h[:, None]
    up = np.clip(1.0 + x / rise, 0.0, 1.0)
    return np.where(x < 0, up * up * (3 - 2 * up), np.exp(-np.clip(x, 0, None) / tau))


def labs(
    f: Facts, b: Baseline, c: Course, s: AcuteState, rng: np.random.Generator, p: SimParams
) -> FloatArr:
    """Screening, pre-lymphodepletion, daily (days 0–14) and later labs; returns ANC nadir."""
    n = b.n
    pre = np.stack(
        [(c.enrolment - c.infusion) / US_PER_HOUR + 26.0, (c.ld_start - c.infusion) / US_PER_HOUR
         - 1.0], axis=1
    )  # fmt: skip
    h = np.concatenate([pre, LAB_DAYS[None, :] * 24.0 + 20.0 + 0 * pre[:, :1]], axis=1)
    h = h + rng.uniform(-0.5, 0.5, h.shape)
    d = h / 24.0
    k = h.shape[1]
    cv = p.measurement_cv

    def noisy(x: FloatArr) -> FloatArr:
        return x * np.exp(rng.normal(0.0, cv, x.shape))

    # Neutrophils: fall from lymphodepletion to a nadir, recover; ≈10 % prolonged/biphasic.
    ld0 = -c.ld_days.astype(float)[:, None]
    base = p.anc_base_median * np.exp(rng.normal(0, 0.3, n))[:, None]
    nadir = np.clip(p.anc_nadir_median * np.exp(rng.normal(0, p.anc_nadir_sigma, n)), 0.01, 1.2)[
        :, None
    ]
    tn = uniform(rng, p.anc_nadir_day, n)[:, None]
    prolonged = (rng.uniform(size=n) < p.anc_prolonged_share)[:, None]
    tr = np.where(
        prolonged,
        uniform(rng, p.anc_prolonged_recovery_day, n)[:, None],
        uniform(rng, p.anc_recovery_day, n)[:, None],
    )
    drop = np.where(d < tr, np.clip((d - ld0) / (tn - ld0), 0, 1), np.exp(-(d - tr) / 3.0))
    second = prolonged & (rng.uniform(size=(n, 1)) < 0.5)
    drop = np.maximum(drop, np.where(second, 0.6 * np.exp(-(((d - tr - 12.0) / 5.0) ** 2)), 0))
    anc = np.exp(np.log(base) + drop * (np.log(nadir) - np.log(base * 0.9)))
    anc = noisy(anc)
    lymph_base = p.lymph_base_median * np.exp(rng.normal(0, 0.3, n))[:, None]
    lymph_nadir = uniform(rng, p.lymph_nadir, n)[:, None]
    lrec = uniform(rng, (14.0, 45.0), n)[:, None]
    ldrop = np.where(d < lrec, np.clip((d - ld0) / 3.0, 0, 1), np.exp(-(d - lrec) / 10.0))
    lymph = noisy(np.exp(np.log(lymph_base) + ldrop * (np.log(lymph_nadir) - np.log(lymph_base))))
    wbc = anc + lymph + noisy(0.45 * (1 - 0.7 * drop))
    plt_base = np.clip(rng.normal(*p.platelet_base, n), 150, 400)[:, None]
    plt_frac = uniform(rng, p.platelet_nadir_fraction, n)[:, None]
    plt = noisy(plt_base * (1 - (1 - plt_frac) * np.exp(-(((d - 8.0) / 7.0) ** 2))))
    hb_mu = np.array([p.hb_base[str(x)][0] for x in b.sex])
    hb_base = rng.normal(hb_mu, p.hb_base["female"][1])[:, None]
    hb = hb_base - uniform(rng, (8.0, 22.0), n)[:, None] * np.exp(-(((d - 12.0) / 15.0) ** 2))
    hb = np.round(hb + rng.normal(0, 2.0, hb.shape))
    # Inflammation follows the CRS episode (grade 0: a small post-infusion bump on day 4).
    g = s.crs_grade
    has = g > 0
    peak_h = np.where(has, s.onset_h + 0.5 * (s.end_h - s.onset_h) + 12.0, 96.0)
    crp_peak, fer_fold, il6_peak = (np.zeros(n) for _ in range(3))
    for gr in range(5):
        idx = g == gr
        m = int(idx.sum())
        crp_peak[idx] = uniform(rng, p.crp_peak_by_grade[gr], m)
        fer_fold[idx] = uniform(rng, p.ferritin_fold_by_grade[gr], m)
        il6_peak[idx] = np.exp(uniform(rng, tuple(np.log(p.il6_peak_by_grade[gr])), m))
    i_crp = np.where(h > 0, _kernel(h, peak_h, 24.0, 48.0), 0.0)
    i_fer = np.where(h > 0, _kernel(h, peak_h + 12.0, 36.0, 120.0), 0.0)
    i_il6 = np.where(h > 0, _kernel(h, peak_h - 12.0, 8.0, 18.0), 0.0)
    crp = noisy(2.0 * np.exp(rng.normal(0, 0.4, (n, 1))) + crp_peak[:, None] * i_crp)
    fer_base = 120.0 * np.exp(rng.normal(0, 0.5, (n, 1)))
    ferritin = noisy(fer_base * (1 + fer_fold[:, None] * i_fer))
    il6 = noisy(3.0 + il6_peak[:, None] * i_il6)
    severity = np.minimum(g, 3)[:, None] / 3.0
    ldh = noisy(170.0 * (1.0 + (0.15 + 0.6 * severity) * i_crp))
    cr_base = np.where(b.sex == "male", 80.0, 64.0)[:, None] * np.exp(rng.normal(0, 0.12, (n, 1)))
    creat = noisy(cr_base * (1.0 + 0.25 * (g >= 2)[:, None] * i_crp))
    fib = noisy(3.0 * (1.0 + 0.4 * i_crp - 0.3 * (g >= 3)[:, None] * i_fer))
    alt = noisy(22.0 * (1.0 + (0.3 + severity) * i_fer))
    ast = noisy(24.0 * (1.0 + (0.3 + 0.8 * severity) * i_fer))
    t = _abs(c, h)
    pid = np.broadcast_to(np.arange(n)[:, None], (n, k))
    col_day = np.concatenate([[-99.0, -98.0], LAB_DAYS])
    cbc = np.ones(k, dtype=bool)
    inflam = col_day <= 28
    chem = col_day <= 14
    il6_cols = np.isin(col_day, IL6_DAYS) | (col_day == -98.0)

    def put(code: str, values: FloatArr, cols: Any, digits: int) -> None:
        f.observe(pid[:, cols], code, np.round(values[:, cols], digits), t[:, cols])

    put("751-8", anc, cbc, 2)
    put("731-0", lymph, cbc, 2)
    put("6690-2", wbc, cbc, 2)
    put("777-3", plt, cbc, 0)
    put("718-7", hb, cbc, 0)
    put("1988-5", crp, inflam, 1)
    put("2276-4", ferritin, inflam, 0)
    put("26881-3", il6, il6_cols, 1)
    put("2532-0", ldh, chem, 0)
    put("2160-0", creat, chem, 0)
    put("3255-7", fib, chem, 2)
    put("1742-6", alt, chem, 0)
    put("1920-8", ast, chem, 0)
    # G-CSF for neutropenia still ≤ 0.5 after day 14 (the protocol's standing orders).
    late = (col_day > 14) & (col_day <= 28)
    need = (anc[:, late] <= 0.5).any(axis=1)
    idx = np.flatnonzero(need)
    first = np.argmax(anc[:, late] <= 0.5, axis=1)
    f.event(idx, "drug_given", t[:, late][idx, first[idx]] + 2 * US_PER_HOUR, drug="g_csf",
            details={"dose": 5.0, "unit": "µg/kg"})  # fmt: skip
    _ = NAT
    result: FloatArr = anc[:, 2 : 2 + ACUTE_DAYS].min(axis=1)
    return result
