"""The whole cohort analysis in one call, as tables (DataFrames) and figures.

>>> from neurocart.cohort import analyse
>>> result = analyse(frames, cutoff=date(2026, 1, 1))  # doctest: +SKIP
>>> result.tables["drug_free_remission"]              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from neurocart import i18n
from neurocart.cohort import plots
from neurocart.cohort.biomarkers import biomarker_outcomes, read_codes
from neurocart.cohort.remission import remission_rates
from neurocart.cohort.safety import ANC_CODE, toxicity_table, worst_grades
from neurocart.cohort.stratify import CoxResult, baseline_features, cox_model, effect_sizes
from neurocart.cohort.subsets import RowsBy
from neurocart.cohort.survival import kaplan_meier, km_table, relapse_free_times
from neurocart.frames import CohortFrames, Selection
from neurocart.gcpause import paused_cyclic_gc
from neurocart.i18n import N_
from neurocart.i18n import gettext as _
from neurocart.kinetics import b_cell_aplasia, cart_samples, igg_nadir, kinetics
from neurocart.kinetics.cart import CODES, DEFAULT_LLOQ, UNITS, Measure
from neurocart.kinetics.days import with_days
from neurocart.kinetics.immune import CD19_CODE, IGG_CODE
from neurocart.outcomes import definitions as d
from neurocart.outcomes.patient import cutoff_instant, follow_up, outcomes_at, restrict

REMISSION_MONTHS = (12, 24)


class Figures(Mapping[str, Figure]):
    """An analysis's figures by name, each drawn when it is asked for, in the language the
    analysis ran in, and kept by nobody here: rendering them (`reports.build.figure_pngs`)
    holds one figure at a time, and an analysis kept for later (the cohort page's cache, one
    per language) holds the data its figures draw, not the figures."""

    def __init__(self) -> None:
        self._draw: dict[str, Callable[[], Figure]] = {}
        self._language = i18n.current()

    def add(self, name: str, draw: Callable[[], Figure]) -> None:
        self._draw[name] = draw

    def __getitem__(self, name: str) -> Figure:
        draw = self._draw[name]
        with i18n.using(self._language):
            return draw()

    def __iter__(self) -> Iterator[str]:
        return iter(self._draw)

    def __len__(self) -> int:
        return len(self._draw)


@dataclass
class CohortAnalysis:
    """Tables (name → DataFrame) and figures (name → matplotlib Figure, drawn when asked
    for: `Figures`) of one cohort."""

    cutoff: date | datetime | None
    n_patients: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: Figures = field(default_factory=Figures)
    figure_values: dict[str, pd.DataFrame] = field(default_factory=dict)
    """What each figure shows, read from the very data it draws (held against the tables)."""
    cox: CoxResult | None = None


def spider_changes(frames: CohortFrames) -> pd.DataFrame:
    """% change from baseline of each disease's spider measure (`definitions.SPIDER_MEASURE`)."""
    a = frames.assessments[frames.assessments["instrument"].isin(["edss", "mg_adl", "incat"])]
    a = a[["study_id", "instrument", "value", "effective_at"]].rename(
        columns={"instrument": "measure"}
    )
    ck = frames.observations[frames.observations["code"] == d.CK_CODE]
    ck = ck[["study_id", "value", "effective_at"]].assign(measure="ck")
    data = with_days(pd.concat([a, ck], ignore_index=True), frames.courses)
    dx = frames.patients.set_index("study_id")["diagnosis"]
    data["diagnosis"] = data["study_id"].map(dx)
    data = data[data["measure"] == data["diagnosis"].map(d.SPIDER_MEASURE)]
    data = data.sort_values(["study_id", "t_days"])
    pre = data[(data["day"] <= 0) & (data["day"] >= -d.BASELINE_WINDOW_DAYS)]
    base = pre.groupby("study_id")["value"].last()
    post = data[data["day"] > 0].copy()
    post["baseline"] = post["study_id"].map(base)
    post = post[post["baseline"] > 0]
    post["pct_change"] = (post["value"] - post["baseline"]) / post["baseline"] * 100.0
    post["month"] = post["t_days"] / d.DAYS_PER_MONTH
    return post[["study_id", "diagnosis", "measure", "month", "pct_change"]].reset_index(drop=True)


def swimmer_marks(frames: CohortFrames) -> pd.DataFrame:
    """Events drawn on the swimmer bars: relapse, maintenance start, infection ≥ 3, death."""
    ev = with_days(
        frames.events[["study_id", "type", "grade", "onset_at"]], frames.courses, "onset_at"
    )
    ev = ev[ev["t_days"] > 0]
    grade = pd.to_numeric(ev["grade"]).fillna(0)
    kind = pd.Series(None, index=ev.index, dtype=object)
    kind[ev["type"] == "relapse"] = "relapse"
    kind[ev["type"] == "maintenance_started"] = "maintenance"
    kind[(ev["type"] == "infection") & (grade >= 3)] = "severe infection"
    kind[ev["type"] == "death"] = "death"
    out = pd.DataFrame(
        {"study_id": ev["study_id"], "month": ev["t_days"] / d.DAYS_PER_MONTH, "kind": kind}
    )
    return out.dropna(subset=["kind"]).reset_index(drop=True)


def _by_disease_summary(outcomes_last: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for g in [*d.DISEASES, "all"]:
        sub = outcomes_last if g == "all" else outcomes_last[outcomes_last["diagnosis"] == g]
        if sub.empty:
            continue
        judged = sub["responder"].dropna()
        scale = d.PRIMARY_SCALE.get(g)
        rows.append(
            {
                "group": d.DISEASE_LABELS.get(g, "All"),
                "primary_scale": d.SCALE_LABELS[scale] if scale else N_("per disease"),
                "n": len(sub),
                "median_follow_up_months": float(
                    np.median(sub["follow_up_days"]) / d.DAYS_PER_MONTH
                ),
                "patients_with_relapse": int((sub["relapses"] > 0).sum()),
                "responders": int(judged.astype(bool).sum()),
                "response_assessable": len(judged),
                # the scales differ between diseases: no pooled median change for "all"
                "median_change_primary_scale": float(sub["change"].median())
                if scale and sub["change"].notna().any()
                else np.nan,
                "responder_definition": d.RESPONDER_TEXT.get(g, N_("per disease (above)")),
            }
        )
    return pd.DataFrame(rows)


ASSESSMENTS = frozenset({*d.SCALE_LABELS, "crs", "icans"})
"""The instruments the analysis reads: the outcome scales (their spider measures among them)
and the graded CRS and ICANS assessments (`safety`)."""
EVENTS = frozenset({"relapse", "maintenance_started", "maintenance_stopped", "mri", "death",
                    "infection", "adverse_event"})  # fmt: skip
"""The event types the analysis reads: relapses, maintenance, MRI, death (outcomes, survival,
swimmer) and the graded infections and adverse events (`safety`)."""


def selection(measure: Measure = "copies", *, biomarkers: bool = True) -> Selection:
    """The facts `analyse` reads with these arguments: all that a cohort read for it needs
    from the store (`reports.load_cohort`). Vital signs, most of the rows, are not among them;
    follow-up reads only each patient's latest fact (`CohortFrames.partial`)."""
    codes = {d.CK_CODE, *CODES[measure].values(), ANC_CODE, CD19_CODE, IGG_CODE}
    if biomarkers:
        codes |= read_codes()
    return Selection(frozenset(codes), ASSESSMENTS, EVENTS)


def analyse(
    frames: CohortFrames,
    *,
    cutoff: date | datetime | None = None,
    measure: Measure = "copies",
    lloq: float | None = None,
    biomarkers: bool = True,
) -> CohortAnalysis:
    """Every table and figure of the cohort report, computed on the frames as of `cutoff`.

    `biomarkers`: also the neuro-immunology readouts (`neurocart.cohort.biomarkers`).
    Frames that hold only some of the facts (`CohortFrames.partial`) must have been read for
    this `cutoff` with at least `selection(measure, biomarkers=biomarkers)`, else ValueError.
    """
    with paused_cyclic_gc():  # ~10⁵ per-patient objects, none in a cycle (`gcpause`)
        return _analyse(frames, cutoff, measure, lloq, biomarkers)


def _analyse(
    frames: CohortFrames,
    cutoff: date | datetime | None,
    measure: Measure,
    lloq: float | None,
    biomarkers: bool,
) -> CohortAnalysis:
    if frames.partial is not None:
        if not frames.partial.selection.covers(selection(measure, biomarkers=biomarkers)):
            raise ValueError("the frames were read without facts that the analysis reads")
        if frames.partial.until != cutoff_instant(cutoff):
            raise ValueError(
                f"the frames were read for the cut-off {frames.partial.until or 'none'}, not "
                f"{cutoff or 'none'}: read them again for this one"
            )
    frames = restrict(frames, cutoff)
    limit = DEFAULT_LLOQ[measure] if lloq is None else lloq
    follow = follow_up(frames)  # the one reading of every fact (or the store's latest)
    observations = RowsBy(frames.observations, "code")

    def reading(codes: Collection[object] | Callable[[object], bool]) -> CohortFrames:
        return replace(frames, observations=observations.rows(codes))

    ck = reading({d.CK_CODE})
    by_day = outcomes_at(ck, [None, *(d.month_day(m) for m in REMISSION_MONTHS)], follow=follow)
    last = by_day[None]
    at = {m: by_day[d.month_day(m)] for m in REMISSION_MONTHS}
    times = relapse_free_times(frames, follow=follow)
    fitters = kaplan_meier(times)
    cart = observations.rows(set(CODES[measure].values()))
    kin = kinetics(cart, frames.courses, measure=measure, lloq=limit)
    samples = cart_samples(cart, frames.courses, measure)
    worst = worst_grades(reading({ANC_CODE}))
    features = baseline_features(frames.patients, frames.courses, last, kin)
    cox = cox_model(features, times)
    immune = b_cell_aplasia(observations.rows({CD19_CODE}), frames.courses).merge(
        igg_nadir(observations.rows({IGG_CODE}), frames.courses), on="study_id", how="outer"
    )
    result = CohortAnalysis(cutoff=cutoff, n_patients=len(last), cox=cox)
    t = result.tables
    t["outcome_summary"] = _by_disease_summary(last)
    t["relapse_free_survival"] = km_table(fitters)
    t["drug_free_remission"] = remission_rates(at)
    t["toxicity"] = toxicity_table(worst)
    t["kinetics_summary"] = _kinetics_summary(kin)
    t["responder_effect_sizes"] = effect_sizes(features)
    if cox is not None:
        t["cox_model"] = cox.summary
    t["patient_outcomes"] = last
    t["patient_kinetics"] = kin
    t["patient_immune"] = immune
    t["patient_toxicity"] = worst
    t["patient_features"] = features
    f = result.figures
    f.add("km", lambda: plots.km_figure(fitters))
    result.figure_values["km"] = plots.km_plotted(fitters)
    marks = swimmer_marks(frames)
    f.add("swimmer", lambda: plots.swimmer_figure(last, times, marks))
    changes = spider_changes(ck)
    f.add("spider", lambda: plots.spider_figure(changes))
    unit = UNITS[measure]
    f.add("kinetics", lambda: plots.kinetics_figure(samples, limit, unit))
    if cox is not None:
        pen = _(", L2 penalizer {value:g}").format(value=cox.penalizer) if cox.penalizer else ""
        ref = _(d.DISEASE_LABELS.get(cox.reference_disease or "", "—"))
        title = (
            _("Cox model of relapse-free survival")
            + "\n"
            + _("(n={n}, {events} events; reference disease {reference}{penalizer})").format(
                n=cox.n, events=cox.events, reference=ref, penalizer=pen
            )
        )
        summary = cox.summary
        f.add("forest", lambda: plots.forest_figure(summary, title))
    if biomarkers:
        bio_tables, bio_figures = biomarker_outcomes(reading(read_codes()))
        t.update(bio_tables)
        for name, draw in bio_figures.items():
            f.add(name, draw)
    return result


KINETIC_PARAMETERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("cmax", "Cmax", "{unit}", ("blood", "csf")),
    ("tmax_day", "Tmax", "study day", ("blood", "csf")),
    ("auc_0_28", N_("AUC 0–28 (linear-up/log-down)"), "{unit} × day", ("blood", "csf")),
    ("last_detectable_day", N_("Last detectable (persistence)"), "study day", ("blood", "csf")),
    ("csf_blood_ratio_median", N_("CSF/blood ratio at matched days"), N_("ratio"), ("csf",)),
)
"""Rows of the kinetics summary: column of the NCA table, label, unit, compartments (the
labels and words are the English the table keeps; the report shows them translated)."""


def _kinetics_summary(kin: pd.DataFrame) -> pd.DataFrame:
    """Median and quartiles across patients of each NCA parameter, per compartment.

    `n` counts the patients with a value (sampled for Cmax, detected for persistence).
    """
    rows = []
    for comp in ("blood", "csf"):
        sub = kin[kin["compartment"] == comp]
        if sub.empty:
            continue
        unit = str(sub["unit"].dropna().iloc[0]) if sub["unit"].notna().any() else ""
        for column, label, unit_text, compartments in KINETIC_PARAMETERS:
            if comp not in compartments:
                continue
            x = sub[column].dropna().astype(float)
            rows.append(
                {
                    "compartment": comp.upper(),
                    "parameter": label,
                    "unit": unit_text.format(unit=unit),
                    "patients_sampled": len(sub),
                    "patients_detected": int(sub["detected"].sum()),
                    "n": len(x),
                    "median": float(x.median()) if len(x) else np.nan,
                    "q1": float(x.quantile(0.25)) if len(x) else np.nan,
                    "q3": float(x.quantile(0.75)) if len(x) else np.nan,
                }
            )
    columns = [
        "compartment", "parameter", "unit", "patients_sampled", "patients_detected", "n",
        "median", "q1", "q3",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
