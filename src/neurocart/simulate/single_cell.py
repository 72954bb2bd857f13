"""Single-cell CSF and blood readouts for the synthetic cohort (the `sc_*` observation codes).

What `neurocart omics run --store` would store for each patient if every lumbar puncture's
CSF, and blood drawn with it, went through 10x single-cell RNA and TCR sequencing: one
proportion per sample, as the omics readouts define them (docs/omics.md). Samples: the
pre-treatment puncture a week before lymphodepletion (the CSF-protein puncture of
`simulate.biomarkers`) and every puncture after the infusion at which CSF CAR-T copies are
measured (`simulate.kinetics`: day 14–28 for everybody, months 3 and 12 in MS and NMOSD; and
the care protocol's CSF tasks, `simulate.protocol`).

The shape follows the single-cell study of anti-BCMA CAR-T in NMOSD (Qin C, et al. Signal
Transduct Target Ther 2023;8:5, doi:10.1038/s41392-022-01278-3): CAR+ T cells are found in
the CSF after the infusion, and B cells and plasma cells fall; CSF cells are mostly T cells,
with few B cells and plasma cells, more of them in MS (Schafflick D, et al. Nat Commun
2020;11:247, doi:10.1038/s41467-019-14118-w). The numbers are illustrative — the simulator is
a demo dataset, not evidence:

* every share is a count of cells of a sample of finite size (blood median 6,000 cells, CSF
  1,500; log-normal), so a rare population can be 0 as in real data;
* T cells are 45–70 % of the blood cells (PBMC) and 80–92 % of the CSF cells, per patient;
* CAR+ % of T cells follows the patient's own transgene copies nearest in time (blood, or the
  puncture's CSF copies): copies/µg DNA ÷ (1.5 × 10⁵ cells per µg, 6.6 pg of DNA per diploid
  cell) ÷ vector copies per CAR+ cell (log-normal, median 2) ÷ the T-cell share; 0 before
  the infusion and where the copies are below the assay's limit (most non-responders' CSF);
* blood B cells % of leukocytes = the patient's CD19 count nearest in time ÷ the PBMC count
  (N(2200, 400)/µL), so B-cell aplasia and recovery, and a low baseline after anti-CD20, are
  those of the CD19 course; CSF B cells log-normal, median 1.5 % in MS and 1 % otherwise,
  × 0.1 by day 28, 0.3 at month 3 and 0.6 at month 12 in responders (0.6, 0.8, 1.0 in
  non-responders);
* plasmablasts and plasma cells (the BCMA-expressing target), log-normal, median 0.5 % of
  blood leukocytes and 0.4 % of CSF leukocytes in MS (0.2 % otherwise), × 0.03 by day 28,
  0.05 at month 3 and 0.15 at month 12 in responders (0.3, 0.5, 0.8 in non-responders);
* T cells in expanded clonotypes (of T cells with a TCR, 90 % of them): log-normal, median
  15 % in blood and 10 % in CSF before, plus the CAR+ T cells (90 % of them in expanded
  clones) after; CSF T cells whose clonotype is in the same day's blood: median 20 %, plus
  80 % of the CSF CAR+ T cells (CAR clones are shared between CSF and blood);
* the CSF/blood ratio of CAR+ % of T cells, when the blood share is above 0.

Drawn last, from its own random stream, so the other values do not change.
"""

from __future__ import annotations

import numpy as np

from neurocart.simulate.course import Course
from neurocart.simulate.facts import US_PER_DAY, US_PER_HOUR, Facts, FloatArr, IntArr
from neurocart.simulate.patients import Baseline

CELLS_PER_UG_DNA = 1.5e5
"""Diploid cells per µg of genomic DNA (6.6 pg each): copies/µg ÷ this = copies per cell."""
BASELINE_LP_DAYS_BEFORE_LD = 7
BLOOD_CELLS_MEDIAN, CSF_CELLS_MEDIAN = 6000.0, 1500.0
PBMC_PER_UL = (2200.0, 400.0)
T_SHARE_BLOOD, T_SHARE_CSF = (0.45, 0.70), (0.80, 0.92)
CSF_B_MEDIAN = {"ms": 0.015}
CSF_B_DEFAULT = 0.010
PLASMA_BLOOD_MEDIAN = 0.005
PLASMA_CSF_MEDIAN = {"ms": 0.004}
PLASMA_CSF_DEFAULT = 0.002
FACTOR_DAYS = (28.0, 90.0, 365.0)
CSF_B_FACTOR = ((0.1, 0.3, 0.6), (0.6, 0.8, 1.0))
"""Multiplier of the CSF B-cell share after the infusion: responders, non-responders."""
PLASMA_FACTOR = ((0.03, 0.05, 0.15), (0.3, 0.5, 0.8))
"""Multiplier of the plasma-cell share after the infusion: responders, non-responders."""
EXPANDED_MEDIAN_BLOOD, EXPANDED_MEDIAN_CSF = 0.15, 0.10
OVERLAP_MEDIAN = 0.20
TCR_CAPTURE = 0.9
US_PER_MINUTE = 60_000_000


def _values(f: Facts, code: str) -> tuple[IntArr, FloatArr, IntArr]:
    chunks = [(p, v, t) for p, c, v, t in f.obs if c == code]
    if not chunks:
        empty = np.array([], dtype=np.int64)
        return empty, np.array([], dtype=float), empty
    return (np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]),
            np.concatenate([c[2] for c in chunks]))  # fmt: skip


def nearest(f: Facts, code: str, pid: IntArr, at: IntArr, default: float) -> FloatArr:
    """Each (patient, instant)'s value of `code` nearest in time (`default` without one),
    for all queries at once: a sorted (patient, minute) key and one binary search."""
    p, v, t = _values(f, code)
    if not p.size:
        return np.full(pid.shape, default)
    t0 = min(int(t.min()), int(at.min()))
    key = (p.astype(np.int64) << 26) + (t - t0) // US_PER_MINUTE
    order = np.argsort(key, kind="stable")
    key, v, p = key[order], v[order], p[order]
    query = (pid.astype(np.int64) << 26) + (at - t0) // US_PER_MINUTE
    j = np.searchsorted(key, query)
    lo, hi = np.clip(j - 1, 0, key.size - 1), np.clip(j, 0, key.size - 1)
    far = np.iinfo(np.int64).max
    d_lo = np.where(p[lo] == pid, np.abs(query - key[lo]), far)
    d_hi = np.where(p[hi] == pid, np.abs(query - key[hi]), far)
    pick = np.where(d_hi < d_lo, hi, lo)
    return np.where(np.minimum(d_lo, d_hi) < far, v[pick], default)


def _factor(
    days: FloatArr, responder: np.ndarray, table: tuple[tuple[float, ...], ...]
) -> FloatArr:
    """The after-infusion multiplier at study `days` (1 before the infusion)."""
    good = np.interp(days, FACTOR_DAYS, table[0])
    bad = np.interp(days, FACTOR_DAYS, table[1])
    return np.where(days <= 0, 1.0, np.where(responder, good, bad))


def _pct(rng: np.random.Generator, n: IntArr, p: FloatArr) -> tuple[IntArr, FloatArr]:
    """Cells of `n` with probability `p`, and their share in % (NaN when `n` is 0)."""
    k = rng.binomial(n, np.clip(p, 0.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return k, np.where(n > 0, np.round(100.0 * k / np.maximum(n, 1), 3), np.nan)


def single_cell(f: Facts, b: Baseline, c: Course, rng: np.random.Generator) -> None:
    """Add the `sc_*` readouts of every patient's CSF and blood samples (see the module)."""
    n = b.n
    if n == 0:
        return
    responder = ~np.asarray(b.non_responder, dtype=bool)
    csf_pid, csf_copies, csf_at = _values(f, "local:cart_copies_csf")
    base_at = c.ld_start - BASELINE_LP_DAYS_BEFORE_LD * US_PER_DAY
    pid = np.concatenate([np.arange(n, dtype=np.int64), csf_pid])
    at = np.concatenate([base_at, csf_at])
    copies_csf = np.concatenate([np.zeros(n), csf_copies])
    days = (at - c.infusion[pid]) / US_PER_DAY
    after = days > 0
    ok = responder[pid]
    m = pid.size
    # per patient
    t_blood = rng.uniform(*T_SHARE_BLOOD, n)
    t_csf = rng.uniform(*T_SHARE_CSF, n)
    vcn = np.clip(np.exp(rng.normal(np.log(2.0), 0.3, n)), 1.0, 5.0)
    pbmc = np.clip(rng.normal(*PBMC_PER_UL, n), 800.0, None)
    dx = b.diagnosis
    csf_b0 = np.array([CSF_B_MEDIAN.get(str(d), CSF_B_DEFAULT) for d in dx])
    csf_b0 = csf_b0 * np.exp(rng.normal(0, 0.5, n))
    pc_blood0 = PLASMA_BLOOD_MEDIAN * np.exp(rng.normal(0, 0.5, n))
    pc_csf0 = np.array([PLASMA_CSF_MEDIAN.get(str(d), PLASMA_CSF_DEFAULT) for d in dx])
    pc_csf0 = pc_csf0 * np.exp(rng.normal(0, 0.5, n))
    exp_blood0 = EXPANDED_MEDIAN_BLOOD * np.exp(rng.normal(0, 0.35, n))
    exp_csf0 = EXPANDED_MEDIAN_CSF * np.exp(rng.normal(0, 0.35, n))
    overlap0 = OVERLAP_MEDIAN * np.exp(rng.normal(0, 0.4, n))
    # per sample: cells captured, T cells among them, T cells with a TCR
    cells_blood = np.round(BLOOD_CELLS_MEDIAN * np.exp(rng.normal(0, 0.3, m))).astype(np.int64)
    cells_csf = np.round(CSF_CELLS_MEDIAN * np.exp(rng.normal(0, 0.5, m))).astype(np.int64)
    cells_csf = np.maximum(cells_csf, 50)
    tb = rng.binomial(cells_blood, t_blood[pid])
    tc = rng.binomial(cells_csf, t_csf[pid])
    # CAR+ % of T cells from the transgene copies (none before the infusion)
    copies_blood = np.where(after, nearest(f, "local:cart_copies_blood", pid, at, 0.0), 0.0)
    p_car_blood = copies_blood / (CELLS_PER_UG_DNA * vcn[pid] * t_blood[pid])
    p_car_csf = np.where(after, copies_csf, 0.0) / (CELLS_PER_UG_DNA * vcn[pid] * t_csf[pid])
    car_b, car_blood = _pct(rng, tb, np.minimum(p_car_blood, 0.95))
    car_c, car_csf = _pct(rng, tc, np.minimum(p_car_csf, 0.95))
    # B cells and plasma cells, % of leukocytes
    cd19_at = np.where(after, at, c.enrolment[pid] + 26 * US_PER_HOUR)  # baseline: screening
    cd19 = nearest(f, "local:cd19_b_cells", pid, cd19_at, 150.0)
    _, b_blood = _pct(rng, cells_blood, np.minimum(cd19 / pbmc[pid], 0.5))
    _, b_csf = _pct(rng, cells_csf, csf_b0[pid] * _factor(days, ok, CSF_B_FACTOR))
    plasma = _factor(days, ok, PLASMA_FACTOR)
    _, pc_blood = _pct(rng, cells_blood, np.minimum(pc_blood0[pid] * plasma, 0.05))
    _, pc_csf = _pct(rng, cells_csf, np.minimum(pc_csf0[pid] * plasma, 0.05))
    # clonotypes: T cells with a TCR; expanded share; CSF clonotypes also in the blood
    tcr_b = rng.binomial(tb, TCR_CAPTURE)
    tcr_c = rng.binomial(tc, TCR_CAPTURE)
    share_b = car_b / np.maximum(tb, 1)
    share_c = car_c / np.maximum(tc, 1)
    _, exp_blood = _pct(rng, tcr_b, exp_blood0[pid] * (1 - share_b) + 0.9 * share_b)
    _, exp_csf = _pct(rng, tcr_c, exp_csf0[pid] * (1 - share_c) + 0.9 * share_c)
    _, overlap = _pct(rng, tcr_c, overlap0[pid] * (1 - share_c) + 0.8 * share_c)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(car_blood > 0, np.round(car_csf / car_blood, 4), np.nan)
    readouts = {
        "local:sc_car_pct_t_blood": car_blood,
        "local:sc_car_pct_t_csf": car_csf,
        "local:sc_car_csf_blood_ratio": ratio,
        "local:sc_b_cell_pct_blood": b_blood,
        "local:sc_b_cell_pct_csf": b_csf,
        "local:sc_plasma_cell_pct_blood": pc_blood,
        "local:sc_plasma_cell_pct_csf": pc_csf,
        "local:sc_expanded_clone_pct_blood": exp_blood,
        "local:sc_expanded_clone_pct_csf": exp_csf,
        "local:sc_csf_blood_clone_overlap": overlap,
    }
    for code, values in readouts.items():  # empty (not stored) when the denominator is 0
        keep = ~np.isnan(values)
        f.observe(pid[keep], code, values[keep], at[keep])
