"""The cohort figures (matplotlib, Agg): KM, swimmer, spider, kinetics, forest.

Every function returns a Figure and never shows it; the caller saves or embeds it. The
figures are made outside pyplot, so no registry of open figures holds them: each is freed
with its last reference, whether it was rendered or not. Large
cohorts are sampled for the per-patient plots (seeded, so a report is reproducible) and the
figure says so. Titles, axis labels and legends are in the language of the running report
(`neurocart.i18n`), drawn with the CJK font behind DejaVu Sans (`neurocart.plotfonts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter  # type: ignore[import-untyped]
from lifelines.plotting import add_at_risk_counts  # type: ignore[import-untyped]
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from neurocart import plotfonts
from neurocart.cohort.survival import ALL
from neurocart.i18n import N_
from neurocart.i18n import gettext as _
from neurocart.kinetics.groups import split
from neurocart.outcomes.definitions import (
    DAYS_PER_MONTH,
    DISEASE_LABELS,
    DISEASES,
    SCALE_LABELS,
)

plotfonts.configure()

COLORS = {
    "ms": "#1f77b4",
    "nmosd": "#ff7f0e",
    "mg": "#2ca02c",
    "imnm": "#9467bd",
    "cidp": "#8c564b",
    ALL: "#333333",
}
COMPARTMENT_COLORS = {"blood": "#c0392b", "csf": "#2471a3"}
COMPARTMENTS = {"blood": N_("BLOOD"), "csf": N_("CSF")}
"""The compartments as the figures name them."""
MAX_SWIMMERS = 50
MIN_AT_RISK = 5
"""KM curves are drawn only while at least this many patients are at risk."""
MAX_SPIDER_LINES = 40
SEED = 20250101


@dataclass(frozen=True)
class KMCurve:
    """One Kaplan–Meier curve as drawn: the step function up to `end`, and its censor marks.

    `times`/`survival`/`lower`/`upper` are the estimate's change points from 0 to `end`
    (the last time at which at least `MIN_AT_RISK` patients were still at risk); the curve
    is drawn as a step that changes only at events (`where="post"`). `censored` holds
    (time, survival) of each patient censored up to `end`. A group with fewer than
    `MIN_AT_RISK` patients has no curve (`drawn` false).
    """

    label: str
    times: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    censored: tuple[tuple[float, float], ...]
    end: float
    drawn: bool

    def at(self, month: float) -> float:
        """The drawn value at `month` (NaN where the curve is not drawn)."""
        if not self.drawn or month > self.end or month < 0:
            return float("nan")
        pos = int(np.searchsorted(self.times, month, side="right")) - 1
        return float(self.survival[max(pos, 0)])


def km_curve(kmf: KaplanMeierFitter, min_at_risk: int = MIN_AT_RISK) -> KMCurve:
    """The curve of a fitted KaplanMeierFitter, cut where fewer than `min_at_risk` remain."""
    durations = np.sort(np.asarray(kmf.durations, dtype=float))
    observed = np.asarray(kmf.event_observed, dtype=bool)[np.argsort(kmf.durations, kind="stable")]
    label = str(kmf._label)
    drawn = len(durations) >= min_at_risk
    # At risk at t = patients with duration >= t; at the min_at_risk-th longest duration
    # exactly that many remain, and beyond it fewer.
    end = float(durations[-min_at_risk]) if drawn else 0.0
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_survival_function_
    timeline = sf.index.to_numpy(dtype=float)
    keep = timeline <= end
    times = timeline[keep]
    survival = sf.iloc[:, 0].to_numpy(dtype=float)[keep]
    lower = ci.iloc[:, 0].to_numpy(dtype=float)[keep]
    upper = ci.iloc[:, 1].to_numpy(dtype=float)[keep]
    if drawn and (not len(times) or times[-1] < end):  # extend the last step to `end`
        times = np.append(times, end)
        survival = np.append(survival, survival[-1] if len(survival) else 1.0)
        lower = np.append(lower, lower[-1] if len(lower) else 1.0)
        upper = np.append(upper, upper[-1] if len(upper) else 1.0)
    marks: list[tuple[float, float]] = []
    if drawn:
        for t, event in zip(durations, observed, strict=True):
            if not event and 0 < t <= end:
                pos = int(np.searchsorted(times, t, side="right")) - 1
                marks.append((float(t), float(survival[max(pos, 0)])))
    return KMCurve(label, times, survival, lower, upper, tuple(marks), end, drawn)


def km_curves(fitters: Mapping[str, KaplanMeierFitter]) -> dict[str, KMCurve]:
    """The curves `km_figure` draws, by group: the diseases in the contract's order, and the
    whole cohort when no disease has enough patients for a curve of its own."""
    groups = [g for g in DISEASES if g in fitters]
    curves = {g: km_curve(fitters[g]) for g in groups}
    if ALL in fitters and not any(c.drawn for c in curves.values()):
        curves[ALL] = km_curve(fitters[ALL])  # too few per disease: the whole cohort
    return curves


def km_plotted(
    fitters: Mapping[str, KaplanMeierFitter], months: tuple[float, ...] = (6, 12, 18, 24)
) -> pd.DataFrame:
    """The value the figure shows at each month, per group (empty where it draws nothing):
    what a reader reads off the figure, to hold against the survival table."""
    rows = [
        {"group": DISEASE_LABELS.get(g, "All"), "month": m, "plotted_survival": curve.at(m)}
        for g, curve in km_curves(fitters).items()
        for m in months
    ]
    return pd.DataFrame(rows, columns=["group", "month", "plotted_survival"])


def _group_label(label: str) -> str:
    """A KM curve's label ("Multiple sclerosis (n=12)") with the group name translated."""
    name, n, rest = label.partition(" (n=")
    return _(name) + n + rest


AT_RISK = N_("At risk")
MONTHS_SINCE_INFUSION = N_("Months since CAR-T infusion")


def km_figure(fitters: Mapping[str, KaplanMeierFitter], horizon_months: float = 24) -> Figure:
    """Relapse-free survival by disease with 95 % CI bands and numbers at risk below.

    Steps only at events, a tick at each censored patient, and each curve stops where fewer
    than `MIN_AT_RISK` patients remain at risk (a group smaller than that is not drawn and
    the legend says so).
    """
    curves = km_curves(fitters)
    groups = list(curves)
    fig = Figure(figsize=(8.0, 5.6))
    ax = fig.subplots()
    for g in groups:
        curve = curves[g]
        color = COLORS.get(g)
        if not curve.drawn:
            ax.plot(
                [],
                [],
                color=color,
                linestyle=":",
                label=_("{label}: not drawn (< {n})").format(
                    label=_group_label(curve.label), n=MIN_AT_RISK
                ),
            )
            continue
        ax.fill_between(
            curve.times, curve.lower, curve.upper, step="post", color=color, alpha=0.15,
            linewidth=0,
        )  # fmt: skip
        ax.step(
            curve.times, curve.survival, where="post", color=color, linewidth=1.6,
            label=_group_label(curve.label), gid=f"km-{g}",
        )  # fmt: skip
        if curve.censored:
            xs, ys = zip(*curve.censored, strict=True)
            ax.plot(
                xs, ys, linestyle="none", marker="|", markersize=7, color=color, gid=f"censor-{g}"
            )
    ticks = np.arange(0, horizon_months + 0.1, 6)
    ax.set_xlim(0, horizon_months)
    ax.set_xticks(ticks)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(_(MONTHS_SINCE_INFUSION))
    ax.set_ylabel(_("Relapse-free survival (probability)"))
    ax.set_title(_("Relapse-free survival by disease (Kaplan–Meier, 95 % CI; | = censored)"))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, frameon=True)
    shown = [fitters[g] for g in groups]
    if shown:
        labels = [_group_label(str(fitters[g]._label)) for g in groups]
        add_at_risk_counts(
            *shown,
            ax=ax,
            fig=fig,
            rows_to_show=[AT_RISK],
            xticks=ticks,
            fontsize=7,
            labels=labels,
        )
        _translate_at_risk(fig.axes[-1])
    fig.tight_layout()
    return fig


def _translate_at_risk(risk_axis: Axes) -> None:
    """lifelines writes its row name ("At risk") into the first tick label: translate it."""
    texts = [t.get_text() for t in risk_axis.get_xticklabels()]
    if texts and texts[0].startswith(AT_RISK):
        texts[0] = _(AT_RISK) + texts[0][len(AT_RISK) :]
        risk_axis.set_xticks(risk_axis.get_xticks())
        risk_axis.set_xticklabels(texts, ha="right", fontsize=7)


def _sample(ids: list[str], limit: int) -> list[str]:
    if len(ids) <= limit:
        return ids
    rng = np.random.default_rng(SEED)
    return sorted(rng.choice(ids, size=limit, replace=False).tolist())


def swimmer_figure(outcomes_last: pd.DataFrame, times: pd.DataFrame, marks: pd.DataFrame) -> Figure:
    """One bar per patient: follow-up, response, relapses, maintenance starts, severe events.

    `marks` has study_id, month, kind ("relapse", "maintenance", "severe infection", "death").
    Non-responders are all shown first (up to the limit), then a sample of responders.
    """
    data = outcomes_last.merge(times[["study_id", "time_months"]], on="study_id")
    data["follow_up_months"] = data["follow_up_days"] / DAYS_PER_MONTH
    non = data[data["in_remission"].eq(False)]["study_id"].tolist()
    rest = data[~data["in_remission"].eq(False)]["study_id"].tolist()
    chosen = _sample(non, MAX_SWIMMERS // 2) if len(non) > MAX_SWIMMERS // 2 else non
    chosen = chosen + _sample(rest, MAX_SWIMMERS - len(chosen))
    shown = data[data["study_id"].isin(chosen)].sort_values(
        ["diagnosis", "follow_up_months"], ascending=[True, True]
    )
    n = len(shown)
    fig = Figure(figsize=(8.0, max(3.0, 0.13 * n + 1.6)))
    ax = fig.subplots()
    status_color = {True: "#27ae60", False: "#c0392b"}
    y = np.arange(n)
    colors = [
        status_color.get(bool(v), "#95a5a6") if pd.notna(v) else "#95a5a6"
        for v in shown["in_remission"]
    ]
    ax.barh(y, shown["follow_up_months"], color=colors, height=0.7, alpha=0.75)
    index = {sid: i for i, sid in enumerate(shown["study_id"])}
    m = marks[marks["study_id"].isin(index)]
    styles = {
        "relapse": ("v", "black", _("relapse")),
        "maintenance": ("s", "#2471a3", _("maintenance therapy started")),
        "severe infection": ("D", "#e67e22", _("infection grade ≥ 3")),
        "death": ("X", "black", _("death")),
    }
    for kind, (marker, color, _label) in styles.items():
        k = m[m["kind"] == kind]
        ax.scatter(k["month"], k["study_id"].map(index), marker=marker, color=color, s=22, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels(
        [
            f"{sid} ({_(DISEASE_LABELS.get(dx, dx))})"
            for sid, dx in zip(shown["study_id"], shown["diagnosis"], strict=True)
        ],
        fontsize=6,
    )
    ax.set_xlabel(_(MONTHS_SINCE_INFUSION))
    title = _("Swimmer plot: follow-up, response and events per patient")
    if len(data) > n:
        title += "\n" + _(
            "({n} of {total} patients: every non-responder up to {half}, then a seeded sample)"
        ).format(n=n, total=len(data), half=MAX_SWIMMERS // 2)
    ax.set_title(title, fontsize=10)
    handles = [
        Line2D([0], [0], color="#27ae60", lw=6, label=_("in remission at last follow-up")),
        Line2D([0], [0], color="#c0392b", lw=6, label=_("not in remission")),
        Line2D([0], [0], color="#95a5a6", lw=6, label=_("response not assessable")),
        *[Line2D([0], [0], marker=mk, color=c, lw=0, label=lab) for mk, c, lab in styles.values()],
    ]
    ax.legend(
        handles=handles,
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.06 - 2.0 / max(n, 20)),
        ncol=4,
    )
    ax.grid(axis="x", alpha=0.3)
    ax.set_ylim(-1, n)
    fig.tight_layout()
    return fig


def spider_figure(changes: pd.DataFrame) -> Figure:
    """% change from baseline over time, one panel per disease (columns study_id, diagnosis,
    measure, month, pct_change); thin lines per patient (sampled), bold median per month."""
    present = [g for g in DISEASES if g in set(changes["diagnosis"])]
    cols = min(3, max(1, len(present)))
    rows = int(np.ceil(len(present) / cols)) if present else 1
    fig = Figure(figsize=(8.0, 2.9 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(present) :]:
        ax.axis("off")
    for ax, g in zip(axes.flat, present, strict=False):
        sub = changes[changes["diagnosis"] == g]
        ids = set(_sample(sorted(set(sub["study_id"])), MAX_SPIDER_LINES))
        shown = sub[sub["study_id"].isin(ids)]
        for _sid, s in split(shown, "study_id", ["month", "pct_change"], order="month"):
            ax.plot(s["month"], s["pct_change"], color=COLORS[g], alpha=0.3, linewidth=0.8)
        med = sub.assign(m=sub["month"].round()).groupby("m")["pct_change"].median()
        ax.plot(med.index, med.to_numpy(), color="black", linewidth=2, label=_("median"))
        ax.axhline(0, color="grey", linewidth=0.8, linestyle="--")
        measure = str(sub["measure"].iloc[0])
        name = "CK" if measure == "ck" else _(SCALE_LABELS.get(measure, measure))
        ax.set_title(f"{_(DISEASE_LABELS[g])}: {name}", fontsize=9)
        ax.set_xlabel(_("Months since infusion"), fontsize=8)
        ax.set_ylabel(_("{scale} change from baseline (%)").format(scale=name), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(
        _(
            "Spider plot: change of the disease scale (lower = better; ≤ {n} patients per panel)"
        ).format(n=MAX_SPIDER_LINES),
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _nominal_day(day: pd.Series) -> pd.Series:
    """Daily to day 14, then weekly to day 56, then 4-weekly bins (sparser sampling later)."""
    d = day.astype("int64")
    binned = np.where(d <= 14, d, np.where(d <= 56, (d // 7) * 7, (d // 28) * 28))
    return pd.Series(binned, index=day.index, name="day")


def kinetics_figure(samples: pd.DataFrame, lloq: float, unit: str, max_day: int = 90) -> Figure:
    """CAR-T level over time, blood vs CSF: median and IQR across patients per study day.

    BLQ values are drawn at LLOQ/2 so that the log axis can show them; days are binned daily to
    day 14, weekly to day 56 and 4-weekly after; bins with fewer than 3 patients are left out.
    """
    fig = Figure(figsize=(8.0, 4.6))
    ax = fig.subplots()
    data = samples[(samples["day"] >= 0) & (samples["day"] <= max_day)]
    data = data.assign(v=np.where(data["value"] >= lloq, data["value"], lloq / 2.0))
    for comp, color in COMPARTMENT_COLORS.items():
        sub = data[data["compartment"] == comp]
        if sub.empty:
            continue
        per_day = sub.groupby([_nominal_day(sub["day"]), "study_id"])["v"].mean().groupby(level=0)
        q = per_day.quantile(np.array([0.25, 0.5, 0.75])).unstack()
        counts = per_day.size()
        q = q[counts.reindex(q.index) >= 3]
        if q.empty:
            continue
        days = q.index.to_numpy(dtype=float)
        where = _(COMPARTMENTS[comp])
        ax.fill_between(
            days, q[0.25], q[0.75], color=color, alpha=0.2,
            label=_("{compartment} IQR").format(compartment=where),
        )  # fmt: skip
        ax.plot(
            days, q[0.5], color=color, marker="o", markersize=3,
            label=_("{compartment} median").format(compartment=where),
        )  # fmt: skip
    ax.axhline(lloq, color="grey", linestyle=":", linewidth=1, label=f"LLOQ ({lloq:g})")
    ax.set_yscale("log")
    ax.set_xlabel(_("Study day (day 0 = infusion)"))
    ax.set_ylabel(_("CAR-T level ({unit}, log scale)").format(unit=unit))
    ax.set_title(_("CAR-T kinetics in blood and CSF (median and interquartile range)"))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def forest_figure(summary: pd.DataFrame, title: str) -> Figure:
    """Hazard ratios with 95 % CIs on a log axis (columns covariate, hazard_ratio, ci_*)."""
    n = len(summary)
    fig = Figure(figsize=(8.0, 0.45 * n + 1.6))
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    hr = summary["hazard_ratio"].to_numpy(dtype=float)
    lo = summary["ci_lower"].to_numpy(dtype=float)
    hi = summary["ci_upper"].to_numpy(dtype=float)
    ax.errorbar(hr, y, xerr=[hr - lo, hi - hr], fmt="s", color="#2c3e50", capsize=3)
    ax.axvline(1.0, color="grey", linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels([_(str(c)) for c in summary["covariate"]], fontsize=8)
    for yi, h, a, b in zip(y, hr, lo, hi, strict=True):
        ax.annotate(
            f"{h:.2f} ({a:.2f}–{b:.2f})",
            (1.02, yi),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            va="center",
        )
    ax.set_xlabel(_("Hazard ratio of relapse or death (95 % CI, log scale)"))
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3, which="both")
    fig.tight_layout()
    return fig
