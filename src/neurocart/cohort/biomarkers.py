"""Neuro-immunology readouts of the cohort: CSF indices, oligoclonal bands, MRI activity,
antibody titres and timed tests, before versus after CAR-T.

    >>> from neurocart.cohort.biomarkers import biomarker_outcomes
    >>> tables, figures = biomarker_outcomes(frames)            # doctest: +SKIP

Definitions (neurocart's, stated in the report):

* Before = the last value in the 90 days up to the infusion (study days −90…0); after = the
  last value after the infusion (its day is given).
* κFLC index and IgG index before vs after: paired Wilcoxon signed-rank test, two-sided
  (Wilcoxon F. Individual comparisons by ranking methods. Biometrics Bulletin 1945;1:80–3) —
  indices are skewed and the groups small, so a rank test of the paired differences is used;
  patients with only one of the two values are not in the test.
* OCB conversion: CSF-specific bands (pattern type 2 or 3) before and none (type 1 or 4)
  after; pattern types as the `ocb_pattern` calculator defines them.
* MRI activity-free at 12 and 24 months, read from the MRI scan records (`mri_scans`): no
  scan after the infusion date up to that month (+ 30 days) is active — no new or enlarging
  T2 lesion against its comparator and no Gd-enhancing lesion, the `mri_activity` rule —
  among patients with an evaluable scan (active, or inactive against a comparator) at or
  after that month minus 30 days. A scan without a comparator and without enhancement is not
  evaluable and counts neither way. MRI *events* are not read (`neurocart.outcomes.mri`
  says why; NEDA-3 reads the same records). The first scan after CAR-T is compared with a
  pre-treatment scan and may show lesions that predate the treatment effect; they are
  counted as reported (Arnold DL, et al. MSJ ETC 2015, doi:10.1177/2055217315589775).
* Antibody titre course: dilution steps from the last titre before to the last after
  (`titre_change`, series 1:10 × 2; a value off the series is read as the nearest dilution).
* Timed tests: first confirmed worsening (`timed_change`: T25FW and 9HPT ≥ 20 %, SDMT ≥ 4
  points, confirmed after 12 weeks), the reference being the last value before the infusion.
* Nerve conduction (CIDP): the EAN/PNS 2021 electrodiagnostic criteria
  (`cidp_ncs_ean_pns_2021`) of the baseline study (the last in the 90 days up to the
  infusion) and of the study nearest month 6 and month 12 (± 60 days), among the patients
  with both; plus each nerve's median motor conduction velocity at those times.
* Single-cell readouts (the `sc_*` observation codes stored from `neurocart omics run`): one
  proportion per patient and sample, never cells as replicates; before = the last sample in
  the 90 days up to the infusion, after = the last after it; paired exact Wilcoxon test with
  the small-n caveat of `neurocart.omics.readouts` beside every comparison of < 10 patients.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats  # type: ignore[import-untyped]

from neurocart.cohort.subsets import RowsBy
from neurocart.frames import CohortFrames
from neurocart.i18n import N_
from neurocart.i18n import gettext as _
from neurocart.ingest import LOCAL, LOINC, codes, lookup
from neurocart.ingest.csf_pairs import INPUT_KEYS
from neurocart.ingest.csf_pairs_frame import puncture_inputs
from neurocart.ingest.errors import UnknownCodeError
from neurocart.kinetics.days import record_days, with_days
from neurocart.outcomes.definitions import BASELINE_WINDOW_DAYS, DAYS_PER_MONTH, DISEASE_LABELS
from neurocart.outcomes.mri import scans_read
from neurocart.standards import calculate, calculate_frame
from neurocart.standards.timed_change import confirmed_onsets

INDEX_CODES = {"kflc_index": "local:kflc_index", "igg_index": "14117-6"}
OCB_PATTERN = "local:ocb_pattern"
TITRE_CODES = ("local:autoantibody_titer", "local:aqp4_igg_titer", "local:mog_igg_titer",
               "63439-4", "local:srp_ab_titer", "33921-8")  # fmt: skip
TIMED_CODES = {"t25fw": "local:t25fw", "nhpt": "local:nhpt", "sdmt": "local:sdmt"}
MRI_MONTHS = (12, 24)
MRI_WINDOW_DAYS = 30
MAX_SPIDER_LINES = 40
NCS_CALCULATOR = "cidp_ncs_ean_pns_2021"
NCS_MONTHS = (6, 12)
NCS_WINDOW_DAYS = 60
NCS_MET = ("strongly_supportive", "weakly_supportive")


DERIVED = {"qalb": "1756-6", "igg_index": "14117-6", "igg_if": "local:igg_if",
           "kflc_index": "local:kflc_index", "ocb_pattern": "local:ocb_pattern"}  # fmt: skip
"""What is computed from each puncture's paired values, and the code it is reported under."""


def _catalogue_key(code: str) -> str | None:
    for system in (LOINC, LOCAL):
        try:
            return lookup(code, system).key
        except UnknownCodeError:
            continue
    return None


def derived_indices(observations: pd.DataFrame, patients: pd.Series | None = None) -> pd.DataFrame:
    """The CSF indices of every lumbar puncture, computed from the paired raw values.

    The same pairing rule and calculators as the store's derived facts
    (`neurocart.ingest.csf_pairs`); rows shaped like observations (study_id, code, value,
    effective_at). `patients`: birth year by study_id, for the Qalb age limit.
    """
    keys = {c: _catalogue_key(c) for c in observations["code"].unique()}
    wanted = {c for c, k in keys.items() if k in INPUT_KEYS}
    sub = observations[observations["code"].isin(wanted)]
    samples = pd.DataFrame({"study_id": sub["study_id"], "key": sub["code"].map(keys),
                            "value": sub["value"], "at": sub["effective_at"]})  # fmt: skip
    births = {} if patients is None else patients.to_dict()
    given = puncture_inputs(samples, births)  # every patient's punctures at once
    parts = []
    for name, code in DERIVED.items():
        table = given.get(name)
        if table is None or table.empty:
            continue
        graded = calculate_frame(name, table.drop(columns=["study_id", "csf_at"]))
        parts.append(pd.DataFrame({
            "study_id": table["study_id"].to_numpy(dtype=object),
            "code": code,
            "value": np.array([float(v) for v in graded["value"]]),
            "effective_at": pd.to_datetime(table["csf_at"], unit="us", utc=True).astype(
                "datetime64[ns, UTC]"
            ),
        }))  # fmt: skip
    columns = ["study_id", "code", "value", "effective_at"]
    if not parts:
        return pd.DataFrame([], columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def read_codes() -> frozenset[str]:
    """The observation codes `biomarker_outcomes` reads (the inputs of the CSF indices, the
    stored indices, OCB, titres, timed tests, single-cell readouts): a caller holding a large
    cohort hands it only those rows, and the store reads only those (`load_cohort`'s codes)."""
    inputs = {e.code for e in codes() if _catalogue_key(e.code) in INPUT_KEYS}
    return frozenset({*DERIVED.values(), *INDEX_CODES.values(), OCB_PATTERN, *TITRE_CODES,
                      *TIMED_CODES.values(), *single_cell_codes(), *inputs})  # fmt: skip


def _with_derived(frames: CohortFrames) -> pd.DataFrame:
    """The observations plus the computed indices (a stored index of the same puncture wins)."""
    o = frames.observations[["study_id", "code", "value", "effective_at"]]
    birth = frames.patients.set_index("study_id")["birth_year"] if "birth_year" in \
        frames.patients else None  # fmt: skip
    derived = derived_indices(frames.observations, birth)  # its instants are UTC already
    if derived.empty:
        return o
    both = pd.concat([o, derived], ignore_index=True)
    repeated = both.duplicated(["study_id", "code", "effective_at"], keep="first").to_numpy()
    return both[~repeated] if repeated.any() else both  # `drop_duplicates`, without a copy


def with_indices(frames: CohortFrames) -> CohortFrames:
    """`frames` whose observations include the computed CSF indices (call once, then analyse).

    The functions below read indices from the observations; `biomarker_outcomes` calls this.
    """
    return replace(frames, observations=_with_derived(frames))


def _obs(frames: CohortFrames, codes: Collection[str]) -> pd.DataFrame:
    o = frames.observations
    sub = o[o["code"].isin(list(codes))][["study_id", "code", "value", "effective_at"]]
    data = with_days(sub, frames.courses)
    dx = frames.patients.set_index("study_id")["diagnosis"]
    data["diagnosis"] = data["study_id"].map(dx)
    return data.sort_values(["study_id", "t_days"])


class Readings:
    """The observations of `codes` with their study day, elapsed days and diagnosis, sorted by
    patient and time once (`_obs`), for the tables that each read some of those codes.

    `of(some)` is the very frame `_obs(frames, some)` gives — the same rows, order, index
    labels and dtypes (a stable sort of some rows is the stable sort of all, restricted to
    them) — without a comparison of every code, a join of the infusions and a sort per table.
    """

    def __init__(self, frames: CohortFrames, codes: Collection[str]) -> None:
        self._rows = RowsBy(_obs(frames, codes), "code")

    def of(self, codes: Collection[str]) -> pd.DataFrame:
        return self._rows.rows(set(codes))


def _readings(frames: CohortFrames, readings: Readings | None, codes: Collection[str]) -> Readings:
    return Readings(frames, codes) if readings is None else readings


def before_after(
    frames: CohortFrames, code: str, *, readings: Readings | None = None
) -> pd.DataFrame:
    """Per patient: the last value before the infusion and the last after (with its day).

    `readings`: the frames' `Readings` of this code among others, when the caller has them.
    """
    data = _readings(frames, readings, [code]).of([code])
    pre = data[(data["day"] <= 0) & (data["day"] >= -BASELINE_WINDOW_DAYS)]
    post = data[data["day"] > 0]
    before = pre.groupby("study_id")["value"].last().rename("before")
    after = post.groupby("study_id")[["value", "day"]].last()
    after = after.rename(columns={"value": "after", "day": "after_day"})
    out = pd.concat([before, after], axis=1).reset_index(names="study_id")
    out["diagnosis"] = out["study_id"].map(frames.patients.set_index("study_id")["diagnosis"])
    return out


def paired_change(table: pd.DataFrame, measure: str) -> dict[str, Any]:
    """Medians before and after and the Wilcoxon signed-rank test of the paired values."""
    both = table.dropna(subset=["before", "after"])
    diff = (both["after"] - both["before"]).to_numpy(dtype=float)
    p = math.nan
    if len(both) >= 2 and np.any(diff != 0):
        p = float(stats.wilcoxon(both["after"], both["before"], zero_method="wilcox").pvalue)
    return {
        "measure": measure,
        "n_paired": len(both),
        "median_before": float(both["before"].median()) if len(both) else math.nan,
        "median_after": float(both["after"].median()) if len(both) else math.nan,
        "median_change": float(np.median(diff)) if len(diff) else math.nan,
        "patients_lower_after": int((diff < 0).sum()),
        "wilcoxon_p": p,
    }


def index_changes(
    frames: CohortFrames, *, readings: Readings | None = None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """κFLC and IgG index before vs after, per disease and overall (paired test)."""
    readings = _readings(frames, readings, INDEX_CODES.values())
    rows, per_patient = [], {}
    for measure, code in INDEX_CODES.items():
        table = before_after(frames, code, readings=readings)
        per_patient[measure] = table
        groups = [*sorted(set(table["diagnosis"].dropna())), "all"]
        for g in groups:
            sub = table if g == "all" else table[table["diagnosis"] == g]
            row = paired_change(sub, measure)
            if row["n_paired"]:
                rows.append({"group": DISEASE_LABELS.get(g, "All"), **row})
    return pd.DataFrame(rows), per_patient


def ocb_conversion(frames: CohortFrames, *, readings: Readings | None = None) -> pd.DataFrame:
    """Patients with CSF-specific bands before, followed up, and converted to negative."""
    table = before_after(frames, OCB_PATTERN, readings=readings)
    positive_before = table["before"].isin([2.0, 3.0])
    followed = positive_before & table["after"].notna()
    converted = followed & table["after"].isin([1.0, 4.0])
    table = table.assign(pos=positive_before, fu=followed, conv=converted)
    rows = []
    for g, sub in [*table.groupby("diagnosis"), ("all", table)]:
        if not len(sub):
            continue
        rows.append({
            "group": DISEASE_LABELS.get(str(g), "All"),
            "with_baseline_ocb": int(sub["before"].notna().sum()),
            "csf_specific_before": int(sub["pos"].sum()),
            "followed_up": int(sub["fu"].sum()),
            "converted_to_negative": int(sub["conv"].sum()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def mri_scans_read(frames: CohortFrames) -> pd.DataFrame:
    """Every MRI scan record of an infused patient with its study day and activity
    (`outcomes.mri.scans_read`) and the patient's diagnosis."""
    data = scans_read(frames)
    data["diagnosis"] = data["study_id"].map(frames.patients.set_index("study_id")["diagnosis"])
    return data


def mri_activity_free(frames: CohortFrames, months: tuple[int, ...] = MRI_MONTHS) -> pd.DataFrame:
    """Share of patients free of MRI activity up to month 12 and 24 after the infusion, read
    from the MRI scan records (not from MRI events, which carry no comparator)."""
    data = mri_scans_read(frames)
    data = data[(data["day"] > 0) & (data["activity"] != "not_evaluable")]
    if data.empty:
        return pd.DataFrame()
    data = data.assign(active=data["activity"] == "active")
    dx = data.drop_duplicates("study_id").set_index("study_id")["diagnosis"]
    rows = []
    for m in months:
        horizon = m * DAYS_PER_MONTH
        reached = data.groupby("study_id")["day"].max() >= horizon - MRI_WINDOW_DAYS
        upto = data[data["day"] <= horizon + MRI_WINDOW_DAYS]
        active = upto.groupby("study_id")["active"].any()
        eligible = reached[reached].index
        for g in [*sorted(set(dx.loc[eligible])), "all"]:
            ids = [i for i in eligible if g == "all" or dx[i] == g]
            if not ids:
                continue
            free = int((~active.reindex(ids, fill_value=False)).sum())
            low, high = _wilson(free, len(ids))
            rows.append({"group": DISEASE_LABELS.get(g, "All"), "month": m, "n": len(ids),
                         "activity_free": free, "proportion": free / len(ids),
                         "ci_low": low, "ci_high": high})  # fmt: skip
    return pd.DataFrame(rows)


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (Wilson EB. J Am Stat Assoc 1927;22:209–12)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _on_series(titre: float) -> int:
    if not titre or titre < 10:
        return 0
    return int(10 * 2 ** round(math.log2(titre / 10)))


def titre_course(frames: CohortFrames, *, readings: Readings | None = None) -> pd.DataFrame:
    """Per patient and antibody: titre before and after and the `titre_change` reading."""
    data = _readings(frames, readings, TITRE_CODES).of(TITRE_CODES)
    pre = data[(data["day"] <= 0) & (data["day"] >= -BASELINE_WINDOW_DAYS)]
    post = data[data["day"] > 0]
    before = pre.groupby(["study_id", "code"])["value"].last().rename("before")
    after = post.groupby(["study_id", "code"])[["value", "day", "diagnosis"]].last()
    table = after.rename(columns={"value": "after", "day": "after_day"}).join(before)
    table = table.dropna(subset=["before", "after"]).reset_index()
    if table.empty:
        return pd.DataFrame()
    table["before"] = [_on_series(float(v)) for v in table["before"]]
    table["after"] = [_on_series(float(v)) for v in table["after"]]
    graded = calculate_frame(
        "titre_change",
        pd.DataFrame({"baseline_titre": table["before"], "follow_up_titre": table["after"]}),
    )
    table["steps"] = graded["value"].to_numpy()
    table["reading"] = graded["label"].to_numpy()
    return table[["study_id", "diagnosis", "code", "before", "after", "after_day", "steps",
                  "reading"]]  # fmt: skip


def titre_summary(course: pd.DataFrame) -> pd.DataFrame:
    """Count titre readings per diagnosis group, one column per reading, for the cohort's antibody
    table.
    """
    if course.empty:
        return course
    counts = course.groupby(["diagnosis", "reading"]).size().unstack(fill_value=0)
    counts.index = [DISEASE_LABELS.get(str(g), str(g)) for g in counts.index]
    return counts.reset_index(names="group")


def timed_changes(frames: CohortFrames, *, readings: Readings | None = None) -> pd.DataFrame:
    """Per test: patients assessed and those with a confirmed worsening after the infusion."""
    readings = _readings(frames, readings, TIMED_CODES.values())
    rows = []
    for test, code in TIMED_CODES.items():
        data = readings.of([code])
        use = _from_reference(data[data["day"] >= -BASELINE_WINDOW_DAYS])
        patient, _ids = pd.factorize(use["study_id"])
        onsets = confirmed_onsets(
            test,  # type: ignore[arg-type]  # a key of TIMED_CODES
            patient.astype(np.intp),
            use["day"].to_numpy(dtype=np.int64),
            use["value"].to_numpy(dtype=np.float64),
        )
        assessed, worsened = len(onsets), int(np.count_nonzero(~np.isnan(onsets)))
        if assessed:
            rows.append({"test": test, "patients_assessed": assessed,
                         "confirmed_worsening": worsened,
                         "proportion": worsened / assessed})  # fmt: skip
    return pd.DataFrame(rows)


def _from_reference(data: pd.DataFrame) -> pd.DataFrame:
    """Per patient (rows by patient and time), the results from the reference on: the last
    value on or before the infusion day; the last result of a day stands for that day.
    Patients with no result before the infusion, or with a single result, are left out."""
    patient = pd.factorize(data["study_id"])[0]
    size = np.bincount(patient)[patient] if len(data) else np.zeros(0, dtype=np.intp)
    position = np.arange(len(data))
    before = np.where((data["day"] <= 0).to_numpy(dtype=bool), position, -1)
    reference = np.full(patient.max() + 1 if len(data) else 0, -1)
    np.maximum.at(reference, patient, before)
    keep = (reference[patient] >= 0) & (size >= 2) & (position >= reference[patient])
    use = data[keep]
    day = use["day"].to_numpy(dtype=np.int64)
    sid = pd.factorize(use["study_id"])[0]
    last_of_day = np.append((sid[1:] != sid[:-1]) | (day[1:] != day[:-1]), True)
    return use[last_of_day[: len(use)]]


def ncs_studies_read(frames: CohortFrames) -> pd.DataFrame:
    """Every nerve-conduction study of an infused patient with its day and EAN/PNS reading."""
    data = record_days(frames.ncs_studies, "study_date", frames.courses)
    if data.empty:
        return data.assign(criteria=pd.Series(dtype=object))
    data["criteria"] = [calculate(NCS_CALCULATOR, {"nerves": list(n)}).value
                        for n in data["nerves"]]  # fmt: skip
    data["diagnosis"] = data["study_id"].map(frames.patients.set_index("study_id")["diagnosis"])
    return data.sort_values(["study_id", "day"])


def _at_month(studies: pd.DataFrame, month: int) -> pd.DataFrame:
    """Per patient, the study nearest `month` after the infusion (within the window)."""
    target = month * DAYS_PER_MONTH
    near = studies[(studies["day"] - target).abs() <= NCS_WINDOW_DAYS]
    near = near.assign(gap=(near["day"] - target).abs()).sort_values(["study_id", "gap"])
    return near.groupby("study_id").head(1).set_index("study_id")


def ncs_criteria(frames: CohortFrames) -> pd.DataFrame:
    """Patients meeting the EAN/PNS 2021 electrodiagnostic criteria at baseline and at month
    6 and 12, among those with a baseline study and one at that month (per disease)."""
    studies = ncs_studies_read(frames)
    if studies.empty:
        return pd.DataFrame()
    pre = studies[(studies["day"] <= 0) & (studies["day"] >= -BASELINE_WINDOW_DAYS)]
    baseline = pre.groupby("study_id").last()
    rows = []
    for month in NCS_MONTHS:
        later = _at_month(studies[studies["day"] > 0], month)
        ids = baseline.index.intersection(later.index)
        for g in [*sorted(set(baseline.loc[ids, "diagnosis"])), "all"]:
            sel = [i for i in ids if g == "all" or baseline.at[i, "diagnosis"] == g]
            if not sel:
                continue
            before, after = baseline.loc[sel, "criteria"], later.loc[sel, "criteria"]
            rows.append({
                "group": DISEASE_LABELS.get(g, "All"), "month": month, "n_paired": len(sel),
                "strongly_supportive_baseline": int((before == NCS_MET[0]).sum()),
                "strongly_supportive_after": int((after == NCS_MET[0]).sum()),
                "met_baseline": int(before.isin(NCS_MET).sum()),
                "met_after": int(after.isin(NCS_MET).sum()),
                "no_longer_met": int((before.isin(NCS_MET) & ~after.isin(NCS_MET)).sum()),
            })  # fmt: skip
    return pd.DataFrame(rows)


def ncs_velocity(frames: CohortFrames) -> pd.DataFrame:
    """Median motor conduction velocity per nerve (side pooled) at baseline and month 6/12,
    among patients with both (m/s): the per-nerve key value followed on the chart."""
    studies = ncs_studies_read(frames)
    if studies.empty:
        return pd.DataFrame()
    long = [
        {"study_id": sid, "day": day, "nerve": n["nerve"],
         "cv": n.get("conduction_velocity_m_s")}
        for sid, day, nerves in zip(studies["study_id"], studies["day"], studies["nerves"],
                                    strict=True)
        for n in nerves
    ]  # fmt: skip
    data = pd.DataFrame(long).dropna(subset=["cv"])
    if data.empty:
        return pd.DataFrame()
    pre = data[(data["day"] <= 0) & (data["day"] >= -BASELINE_WINDOW_DAYS)]
    base = pre.groupby(["study_id", "nerve"])["cv"].last()
    rows = []
    for month in NCS_MONTHS:
        target = month * DAYS_PER_MONTH
        near = data[(data["day"] - target).abs() <= NCS_WINDOW_DAYS]
        nearest = near.assign(gap=(near["day"] - target).abs()).sort_values("gap")
        after: pd.Series = nearest.groupby(["study_id", "nerve"])["cv"].first()
        both = pd.concat([base.rename("before"), after.rename("after")], axis=1).dropna()
        for nerve, sub in both.groupby(level="nerve"):
            faster = int((sub["after"] > sub["before"]).sum())
            rows.append({"nerve": nerve, "month": month, "n_paired": len(sub),
                         "median_before_m_s": float(sub["before"].median()),
                         "median_after_m_s": float(sub["after"].median()),
                         "patients_faster_after": faster})  # fmt: skip
    return pd.DataFrame(rows)


def single_cell_codes() -> dict[str, str]:
    """The single-cell readout codes of the catalogue (code → display), in catalogue order."""
    return {e.code: e.display for e in codes() if e.key.startswith("sc_")}


NO_SAMPLES = N_("no samples stored (neurocart omics run --store)")


def single_cell_readouts(frames: CohortFrames, *, readings: Readings | None = None) -> pd.DataFrame:
    """Every `sc_*` code, listed whether or not the cohort has samples: patients and
    samples, median before and after the infusion (one proportion per patient), the paired
    Wilcoxon test (exact up to `EXACT_MAX_PAIRS` pairs, named in `test`) and its caveat."""
    from neurocart.omics.readouts import paired_comparison

    wanted = single_cell_codes()
    readings = _readings(frames, readings, wanted)
    rows = []
    for code, display in wanted.items():
        sub = readings.of([code])
        if sub.empty:
            rows.append({"code": code, "readout": display, "patients": 0, "samples": 0,
                         "n_paired": 0, "median_before": math.nan, "median_after": math.nan,
                         "wilcoxon_p": math.nan, "test": "", "caveat": NO_SAMPLES})  # fmt: skip
            continue
        pre = sub[(sub["day"] <= 0) & (sub["day"] >= -BASELINE_WINDOW_DAYS)]
        before = pre.groupby("study_id")["value"].last()
        after = sub[sub["day"] > 0].groupby("study_id")["value"].last()
        c = paired_comparison(before, after, code, "before", "after")
        rows.append({
            "code": code, "readout": display, "patients": sub["study_id"].nunique(),
            "samples": len(sub), "n_paired": c.n_patients,
            "median_before": c.median_a, "median_after": c.median_b,
            "wilcoxon_p": math.nan if c.p_value is None else c.p_value, "test": c.test,
            "caveat": c.caveat,
        })  # fmt: skip
    return pd.DataFrame(rows)


def kflc_spider(frames: CohortFrames, *, readings: Readings | None = None) -> pd.DataFrame:
    """% change of the κFLC index from the last value before the infusion, per patient."""
    code = INDEX_CODES["kflc_index"]
    data = _readings(frames, readings, [code]).of([code])
    pre = data[(data["day"] <= 0) & (data["day"] >= -BASELINE_WINDOW_DAYS)]
    base = pre.groupby("study_id")["value"].last()
    post = data[data["day"] > 0].copy()
    post["baseline"] = post["study_id"].map(base)
    post = post[post["baseline"] > 0]
    post["pct_change"] = (post["value"] - post["baseline"]) / post["baseline"] * 100.0
    post["month"] = post["t_days"] / DAYS_PER_MONTH
    return post[["study_id", "diagnosis", "month", "pct_change"]].reset_index(drop=True)


def spider_figure(changes: pd.DataFrame) -> Figure:
    """One line per patient (up to 40), one panel per disease, 0 % dashed."""
    groups = sorted(set(changes["diagnosis"].dropna()))
    fig = Figure(figsize=(8.0, 3.0))
    axes = fig.subplots(1, max(1, len(groups)), squeeze=False)
    for i, (ax, g) in enumerate(zip(axes.flat, groups, strict=False)):
        sub = changes[changes["diagnosis"] == g]
        for sid in sorted(set(sub["study_id"]))[:MAX_SPIDER_LINES]:
            s = sub[sub["study_id"] == sid].sort_values("month")
            ax.plot([0, *s["month"]], [0, *s["pct_change"]], alpha=0.5, linewidth=0.8)
        ax.axhline(0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_title(_(DISEASE_LABELS.get(g, g)), fontsize=9)
        ax.set_xlabel(_("Months since infusion"), fontsize=8)
        if i == 0:  # once: on every panel it ran into the ticks of the panel to its left
            ax.set_ylabel(_("κFLC index change (%)"), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(_("κFLC index: change from before the infusion, per patient"), fontsize=10)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.17, top=0.8, wspace=0.45)
    return fig


def biomarker_outcomes(
    frames: CohortFrames,
) -> tuple[dict[str, pd.DataFrame], dict[str, Callable[[], Figure]]]:
    """Every biomarker table and figure (only those with data); a figure as what draws it
    (`analysis.Figures` draws it when it is rendered)."""
    tables: dict[str, pd.DataFrame] = {}
    frames = with_indices(frames)
    codes = [*INDEX_CODES.values(), OCB_PATTERN, *TITRE_CODES, *TIMED_CODES.values(),
             *single_cell_codes()]  # fmt: skip
    readings = Readings(frames, codes)  # one pass over the observations for every table
    summary, _pairs = index_changes(frames, readings=readings)
    candidates = {
        "csf_index_change": summary,
        "ocb_conversion": ocb_conversion(frames, readings=readings),
        "mri_activity_free": mri_activity_free(frames),
        "antibody_titre_course": titre_summary(titre_course(frames, readings=readings)),
        "timed_test_worsening": timed_changes(frames, readings=readings),
        "ncs_criteria": ncs_criteria(frames),
        "ncs_velocity": ncs_velocity(frames),
        "single_cell_readouts": single_cell_readouts(frames, readings=readings),
    }
    for name, table in candidates.items():
        if not table.empty and not (name == "ocb_conversion" and
                                    table["with_baseline_ocb"].sum() == 0):  # fmt: skip
            tables[name] = table
    figures: dict[str, Callable[[], Figure]] = {}
    spider = kflc_spider(frames, readings=readings)
    if not spider.empty:
        figures["spider_kflc"] = lambda: spider_figure(spider)
    return tables, figures
