"""Outcome and response definitions per disease — the one place they live, with their sources.

Every threshold below is used by `neurocart.outcomes.patient`; the per-instrument scores
themselves come from the calculators in `neurocart.standards` (never re-implemented here).

Baseline and time points (neurocart conventions, stated because publications vary)
-------------------------------------------------------------------------------
* Baseline of a scale = the last assessment in [−BASELINE_WINDOW_DAYS, 0] study days.
* The value "at month m" = the assessment nearest to day round(m × 30.4375) within ±
  VISIT_WINDOW_DAYS (ties: the earlier). "At last follow-up" = the last assessment.
* Follow-up ends at the last recorded fact (observation, assessment or event) on or before the
  data cut-off, or at death. A patient is evaluable at day t when followed to ≥ t −
  VISIT_WINDOW_DAYS — also after an earlier relapse: counting early failures but not
  early-censored successes would bias the rate down (time-to-event is the KM's job).
* Relapses count when their onset is after infusion (elapsed time > 0).

Responder (= "in remission" when also relapse-free through the time point)
--------------------------------------------------------------------------
* MS: no 12-week confirmed disability worsening (CDW, `disability_change`, fixed baseline,
  msprog semantics: Montobbio N et al. Mult Scler 2024;30:1185–92) and no relapse. NEDA-3
  (`neda3`: Havrdova E et al. Lancet Neurol 2009;8:254–60) is reported besides, with MRI counts
  summed over the MRI scan records after the re-baseline day up to the time point (no
  re-baseline scan: MRI_REBASELINE_DAY = 0; `outcomes.mri`). It is empty (unknown), not
  achieved, when no domain shows activity but no scan in that window is evaluable or no EDSS
  was assessed.
* NMOSD: relapse-free (attack definition: Wingerchuk DM et al. Neurology 2015;85:177–89;
  trial practice N-MOmentum, Cree BAC et al. Lancet 2019;394:1352–63). EDSS change reported.
* MG: MG-ADL improvement ≥ 2 points from baseline (Muppidi S et al. Muscle Nerve
  2011;44:727–31), sustained: present at the time point and at an assessment ≥ 28 days earlier
  with every assessment in between also ≥ 2 better (ADAPT-style: Howard JF Jr et al. Lancet
  Neurol 2021;20:526–36). Minimal symptom expression: MG-ADL 0–1 (the `mg_adl` calculator's
  label). QMG improvement ≥ 3 reported (Barohn RJ et al. Ann N Y Acad Sci 1998;841:769–72).
* IMNM: 2016 ACR/EULAR total improvement score ≥ 40 (moderate response; Aggarwal R et al.
  Arthritis Rheumatol 2017;69:898–910). CK change from baseline reported.
* CIDP: adjusted INCAT improvement ≥ 1 point (Hughes RAC et al. Lancet Neurol 2008;7:136–44),
  from the `incat` calculator with the baseline as the previous score. MRC sum change
  reported (MCID 2: Kleyweg RP et al. Muscle Nerve 1991;14:1103–9).

Drug-free remission at t = in remission at t **and** no maintenance immunotherapy running at t
(a `maintenance_started` event on or before t not followed by a `maintenance_stopped` event of
the same drug on or before t).
"""

from __future__ import annotations

from neurocart.standards import mg_adl

DISEASES = ("ms", "nmosd", "mg", "imnm", "cidp")
DISEASE_LABELS = {
    "ms": "Multiple sclerosis",
    "nmosd": "NMOSD",
    "mg": "Myasthenia gravis",
    "imnm": "IMNM",
    "cidp": "CIDP",
}

PRIMARY_SCALE = {
    "ms": "edss",
    "nmosd": "edss",
    "mg": "mg_adl",
    "imnm": "imacs_tis",
    "cidp": "incat",
}
"""The scale each disease's response and spider plot use (TIS is already a change score)."""
SCALE_LABELS = {
    "edss": "EDSS",
    "mg_adl": "MG-ADL",
    "qmg": "QMG",
    "imacs_tis": "TIS",
    "incat": "INCAT",
    "mrc_sum": "MRC sum",
}
HIGHER_IS_BETTER = {"imacs_tis", "mrc_sum"}
SPIDER_MEASURE = {"ms": "edss", "nmosd": "edss", "mg": "mg_adl", "imnm": "ck", "cidp": "incat"}
"""What the spider plot shows per disease (TIS is itself a change score, so IMNM shows CK)."""

BASELINE_WINDOW_DAYS = 90
VISIT_WINDOW_DAYS = 45
DAYS_PER_MONTH = 30.4375

CDW_CONFIRMATION_DAYS = 84
MRI_REBASELINE_DAY = 0
MG_ADL_RESPONSE_POINTS = mg_adl.MEANINGFUL_CHANGE
MG_ADL_SUSTAINED_DAYS = 28
MG_ADL_MSE_MAX = mg_adl.MSE_MAX
QMG_RESPONSE_POINTS = 3
TIS_RESPONSE = 40.0
INCAT_RESPONSE_POINTS = 1
MRC_MCID_POINTS = 2

CK_CODE = "2157-6"

RESPONDER_TEXT = {
    "ms": "no 12-week confirmed EDSS worsening and no relapse",
    "nmosd": "relapse-free",
    "mg": "MG-ADL ≥ 2 points better than baseline, sustained ≥ 28 days",
    "imnm": "total improvement score ≥ 40 (moderate or major response)",
    "cidp": "adjusted INCAT ≥ 1 point better than baseline",
}


def month_day(months: float) -> int:
    """Study day of a month time point (12 → 365, 24 → 730)."""
    return round(months * DAYS_PER_MONTH)
