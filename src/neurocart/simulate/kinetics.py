"""CAR-T expansion in blood and CSF, B-cell aplasia and the IgG decline after BCMA CAR-T.

Blood transgene copies rise log-linearly from day 1 to a peak on days 7–14, then fall in two
log-linear phases (fast to day 60, slow after); values below the assay's lower limit are
reported as 0. CSF copies are the blood level times a per-patient ratio (lognormal, well
below 1); most non-responders have none, as the published reports describe.
"""

from __future__ import annotations

import numpy as np

from neurocart.simulate.course import Course
from neurocart.simulate.facts import US_PER_DAY, US_PER_HOUR, Facts, FloatArr
from neurocart.simulate.params import SimParams
from neurocart.simulate.patients import Baseline, uniform

BLOOD_DAYS = np.array([1, 4, 7, 10, 14, 21, 28, 60, 90, 180, 270, 365, 540, 730], dtype=float)
FOLLOW_DAYS = np.array([7, 14, 28, 60, 90, 180, 270, 365, 540, 730], dtype=float)
IGG_DAYS = np.array([30, 60, 90, 120, 150, 180, 270, 365, 540, 730], dtype=float)


def blood_copies(d: FloatArr, cmax: FloatArr, tmax: FloatArr, k1: FloatArr, k2: FloatArr,
                 lloq: float) -> FloatArr:  # fmt: skip
    """Transgene copies/µg DNA at study days `d` (patients × times); 0 below the LLOQ."""
    cm, tm = np.log10(cmax)[:, None], tmax[:, None]
    rising = 1.0 + (cm - 1.0) * np.clip(d / tm, 0, 1)
    fast = cm - k1[:, None] * (np.minimum(d, 60.0) - tm)
    slow = fast - k2[:, None] * np.clip(d - 60.0, 0, None)
    log_c = np.where(d <= tm, rising, slow)
    copies = 10.0**log_c
    return np.where((d < 0.5) | (copies < lloq), 0.0, copies)


def kinetics(f: Facts, b: Baseline, c: Course, rng: np.random.Generator, p: SimParams) -> None:
    """Draw CAR-T expansion and decay in blood (and CSF), B-cell aplasia and IgG for each patient
    and record them as observations."""
    n = b.n
    pid_of = np.arange(n)
    nr = b.non_responder
    cmax = 10 ** (rng.normal(*p.cmax_log10, n) + np.where(nr, p.non_responder_cmax_shift_log10, 0))
    tmax = uniform(rng, p.tmax_days, n)
    k1 = np.clip(rng.normal(*p.decay_fast_log10_per_day, n), 0.015, None)
    k2 = np.clip(rng.normal(*p.decay_slow_log10_per_day, n), 0.001, None)
    d = BLOOD_DAYS[None, :] + 0.85 + rng.uniform(-0.05, 0.05, (n, BLOOD_DAYS.size))
    copies = blood_copies(d, cmax, tmax, k1, k2, p.cart_lloq_copies)
    copies = np.round(copies * np.exp(rng.normal(0, 0.15, copies.shape)))
    at = c.infusion[:, None] + (d * US_PER_DAY).astype(np.int64)
    grid = np.broadcast_to(pid_of[:, None], d.shape)
    f.observe(grid, "local:cart_copies_blood", copies, at)
    # Lumbar punctures: screening, day 14–28; months 3 and 12 for MS and NMOSD.
    cns = np.isin(b.diagnosis, ["ms", "nmosd"])
    lp = (
        np.stack([uniform(rng, (14.0, 28.0), n), np.full(n, 90.0), np.full(n, 365.0)], axis=1) + 0.1
    )
    lp_mask = np.ones_like(lp, dtype=bool)
    lp_mask[:, 1:] = cns[:, None]
    ratio = 10 ** rng.normal(*p.csf_ratio_log10, n)
    no_csf = nr & (rng.uniform(size=n) < p.non_responder_no_csf_cart)
    ratio = np.where(no_csf, 0.0, ratio)
    csf = blood_copies(lp, cmax, tmax, k1, k2, 0.0) * ratio[:, None]
    csf = np.round(np.where(csf < p.cart_lloq_copies, 0.0, csf)).astype(np.float64)
    lp_at = c.infusion[:, None] + (lp * US_PER_DAY).astype(np.int64)
    lp_grid = np.broadcast_to(pid_of[:, None], lp.shape)
    f.observe(lp_grid[lp_mask], "local:cart_copies_csf", csf[lp_mask], lp_at[lp_mask])
    f.event(lp_grid[lp_mask], "lumbar_puncture", lp_at[lp_mask] - US_PER_HOUR)
    f.event(pid_of, "lumbar_puncture", c.enrolment + 2 * US_PER_DAY)
    # B cells (local:cd19_b_cells): depleted by lymphodepletion, recover within months.
    b0 = np.where(
        b.anti_cd20,
        uniform(rng, p.cd19_after_anti_cd20, n),
        p.cd19_base_median * np.exp(rng.normal(0, 0.5, n)),
    )
    rec_mu, rec_sd = p.cd19_recovery_day
    rec = np.clip(rng.normal(np.where(b.late_relapser, 0.7 * rec_mu, rec_mu), rec_sd), 30, 400)
    fd = np.broadcast_to(FOLLOW_DAYS[None, :] + 0.9, (n, FOLLOW_DAYS.size))
    frac = 0.02 + 0.98 / (1.0 + np.exp(-(fd - rec[:, None]) / 20.0))
    recovered = np.maximum(b0, p.cd19_base_median * 0.6)[:, None]
    cd19 = np.round(recovered * frac * np.exp(rng.normal(0, 0.15, fd.shape)), 1)
    fgrid = np.broadcast_to(pid_of[:, None], fd.shape)
    f.observe(fgrid, "local:cd19_b_cells", cd19, c.infusion[:, None] + (fd * US_PER_DAY).astype(
        np.int64))  # fmt: skip
    f.observe(pid_of, "local:cd19_b_cells", np.round(b0, 1), c.enrolment + 26 * US_PER_HOUR)
    # IgG (2465-3): falls by about half to a nadir at months 2–4, recovers slowly.
    igg0 = p.igg_base_median * np.exp(rng.normal(0, p.igg_base_sigma, n))
    nadir_frac = np.clip(rng.normal(*p.igg_nadir_fraction, n), 0.25, 0.85)
    tn = uniform(rng, p.igg_nadir_day, n)[:, None]
    gd = np.broadcast_to(IGG_DAYS[None, :] + 0.9, (n, IGG_DAYS.size))
    shape = np.where(gd <= tn, gd / tn, np.exp(-(gd - tn) / p.igg_recovery_tau_days))
    igg = igg0[:, None] * (1.0 - (1.0 - nadir_frac[:, None]) * shape)
    igg = np.round(igg * np.exp(rng.normal(0, 0.05, gd.shape)), 2)
    g_at = c.infusion[:, None] + (gd * US_PER_DAY).astype(np.int64)
    ggrid = np.broadcast_to(pid_of[:, None], gd.shape)
    f.observe(ggrid, "2465-3", igg, g_at)
    f.observe(pid_of, "2465-3", np.round(igg0, 2), c.enrolment + 26 * US_PER_HOUR)
    low = igg < p.ivig_threshold_g_l
    f.event(ggrid[low], "drug_given", g_at[low] + 4 * US_PER_HOUR, drug="ivig",
            details={"dose": 0.4, "unit": "g/kg", "reason": "IgG < 4 g/L"})  # fmt: skip
