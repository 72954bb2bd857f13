"""The patient chart's figures, as plain Plotly figure dicts (rendered by plotly.js in the page).

Every figure puts time on the x axis as study day (day 0 = infusion; fractional within the
day) and draws the clinical thresholds that grade the values as labelled dashed lines, so a
threshold is read from its label, not from its colour.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from neurocart.i18n import (
    N_,
    core_text,
    format_date,
    format_datetimes,
    term,
    zone_label,
)
from neurocart.i18n import gettext as _
from neurocart.pathway import Schedule, SlotState
from neurocart.standards import Result
from neurocart.standards.csf_limits import IGG_INDEX_ULN, KFLC_INDEX_CUTOFF
from neurocart.store.models import Assessment, MriScan, NerveConductionStudy
from neurocart.store.repo import ValueSeries
from neurocart.studyday import local_date

if TYPE_CHECKING:  # numpy is imported where a long series is thinned: not at the app's start-up
    import numpy as np
    import numpy.typing as npt

Figure = dict[str, Any]


@dataclass(frozen=True)
class Threshold:
    """A horizontal line drawn on a chart (e.g. IgG 4 g/L) so a reader sees a crossing at a
    glance."""

    value: float
    label: str


@dataclass(frozen=True)
class Series:
    """One observation code plotted on the chart, optionally of one specimen (e.g. CAR-T copies in
    blood or CSF)."""

    code: str
    name: str
    specimen: str | None = None


@dataclass(frozen=True)
class Panel:
    """One chart: which series, which unit, which thresholds, log scale or not."""

    key: str
    title: str
    unit: str
    series: tuple[Series, ...]
    thresholds: tuple[Threshold, ...] = ()
    log: bool = False


SINGLE_CELL_TITLES = (
    "Single-cell: CAR+ cells, % of T cells",
    "Single-cell: B and plasma cells, % of leukocytes",
)
"""Titles with a percent sign before a word, which an N_() call cannot carry (gettext tools
read "% o" as a placeholder): listed for the catalogues in `locale/sources.toml`, keyed there
with {percent} (`neurocart.i18n.percent_key`)."""

VITAL_PANELS: tuple[Panel, ...] = (
    Panel(
        "temperature", N_("Temperature"), "°C", (Series("8310-5", N_("temperature")),),
        (Threshold(38.0, N_("fever 38.0 °C")),),
    ),
    Panel(
        "bp", N_("Blood pressure and heart rate"), "mmHg · /min",
        (
            Series("8480-6", N_("systolic BP")),
            Series("8462-4", N_("diastolic BP")),
            Series("8867-4", N_("heart rate")),
        ),
        (Threshold(90.0, N_("SBP 90 mmHg")),),
    ),
    Panel(
        "spo2", N_("Oxygen saturation"), "%", (Series("59408-5", "SpO₂"),),
        (Threshold(90.0, N_("SpO₂ 90 %")),),
    ),
)  # fmt: skip
"""Vital signs with the ASTCT CRS thresholds (fever, hypotension, hypoxia)."""

LAB_PANELS: tuple[Panel, ...] = (
    Panel(
        "anc", N_("Neutrophils (ANC)"), "×10⁹/L", (Series("751-8", "ANC"),),
        (Threshold(0.5, N_("ANC 0.5")), Threshold(0.1, N_("ANC 0.1"))), log=True,
    ),
    Panel(
        "platelets", N_("Platelets"), "×10⁹/L", (Series("777-3", N_("platelets")),),
        (Threshold(50.0, N_("platelets 50")), Threshold(20.0, N_("platelets 20"))),
    ),
    Panel(
        "igg", "IgG", "g/L", (Series("2465-3", "IgG"),), (Threshold(4.0, N_("IgG 4 g/L")),),
    ),
    Panel(
        "inflammation", N_("CRP and ferritin"), "mg/L · µg/L",
        (Series("1988-5", "CRP (mg/L)"), Series("2276-4", N_("ferritin (µg/L)"))), log=True,
    ),
    # the neuro-immunology readouts: intrathecal synthesis (the indices the monitor derives
    # from each lumbar puncture's paired values, at the calculators' default limits),
    # oligoclonal bands and the disease antibody, then the B cells and the single-cell readouts
    Panel(
        "kflc_index", N_("κ free light chain index"), "",
        (Series("local:kflc_index", "κFLC"), Series("local:lflc_index", "λFLC")),
        (Threshold(KFLC_INDEX_CUTOFF, f"κFLC {KFLC_INDEX_CUTOFF:g}"),),
    ),
    Panel(
        "igg_index", N_("IgG index (CSF/serum)"), "", (Series("14117-6", N_("IgG index")),),
        (Threshold(IGG_INDEX_ULN, f"{IGG_INDEX_ULN:g}"),),
    ),
    Panel(
        "qalb", N_("Albumin quotient CSF/serum (× 10⁻³)"), "×10⁻³",
        (Series("1756-6", "Qalb"),),
    ),
    Panel(
        "ocb", N_("Oligoclonal bands restricted to CSF (number)"), "",
        (Series("49852-7", N_("CSF")),),
    ),
    Panel(  # reciprocal titres; linear, so that a fall to negative (0) stays in sight
        "titres", N_("Disease autoantibody titers"), "titer",
        (Series("local:autoantibody_titer", N_("Disease autoantibody titre")),
         Series("local:aqp4_igg_titer", N_("AQP4-IgG titre")),
         Series("63439-4", N_("AQP4-IgG titre, serum (cell-based assay)")),
         Series("local:mog_igg_titer", N_("MOG-IgG titre")),
         Series("33921-8", N_("SRP antibodies (titre)"))),
    ),
    Panel(
        "cd19", N_("CD19+ B cells"), "cells/µL", (Series("local:cd19_b_cells", N_("blood")),),
    ),
    Panel(  # single-cell readouts stored by `neurocart omics run --store`
        "sc_car", SINGLE_CELL_TITLES[0], "%",
        (Series("local:sc_car_pct_t_blood", N_("blood")),
         Series("local:sc_car_pct_t_csf", N_("CSF"))),
    ),
    Panel(
        "sc_b_plasma", SINGLE_CELL_TITLES[1], "%",
        (Series("local:sc_b_cell_pct_blood", N_("B, blood")),
         Series("local:sc_b_cell_pct_csf", N_("B, CSF")),
         Series("local:sc_plasma_cell_pct_blood", N_("plasma, blood")),
         Series("local:sc_plasma_cell_pct_csf", N_("plasma, CSF"))),
    ),
)  # fmt: skip
"""Cytopenia (CTCAE / ICAHT) and hypogammaglobulinaemia thresholds; the CSF indices,
oligoclonal bands, disease antibody titres and B cells (CD19+ and single-cell) whose course
shows whether intrathecal and systemic B-lineage activity fell after the infusion."""

TIMED_PANELS: tuple[Panel, ...] = (
    Panel("t25fw", N_("Timed 25-foot walk (mean of 2 trials)"), "s",
          (Series("local:t25fw", "T25FW"),)),
    Panel("nhpt", N_("9-hole peg test (per-visit summary)"), "s",
          (Series("local:nhpt", N_("9-hole peg test")),)),
    Panel("sdmt", N_("Symbol Digit Modalities Test (correct responses)"), "",
          (Series("local:sdmt", "SDMT"),)),
)  # fmt: skip
"""The timed tests (observations), drawn beside the disease scales: their confirmed change
is an outcome of the cohort report (`timed_change`)."""

CART_PANEL = Panel(
    "cart",
    N_("CAR-T transgene copies: blood vs CSF"),
    "copies/µg DNA",
    (
        Series("local:cart_copies_blood", N_("blood")),
        Series("local:cart_copies_csf", N_("CSF")),
    ),
    log=True,
)

CHART_CODES: frozenset[str] = frozenset(
    s.code
    for panel in (*VITAL_PANELS, *LAB_PANELS, *TIMED_PANELS, CART_PANEL)
    for s in panel.series
)
"""The observation codes the chart draws: the page reads these, not the whole history."""

MAX_POINTS = 2000
"""Points drawn per series at most. A longer series (vitals every minute for weeks) is drawn
by its `extremes`: the first and the last reading and the lowest and the highest of each of
``(MAX_POINTS - 2) // 2`` equal stretches of its time range, so a fever spike or a
desaturation is never averaged away and the page stays light; the legend then says how many
readings the line stands for."""


class Reading(Protocol):
    """What the chart draws of an observation (an `Observation`; the page itself reads a long
    history as `repo.observation_series` columns, the same readings with no object per row)."""

    @property
    def code(self) -> str: ...
    @property
    def effective_at(self) -> datetime: ...
    @property
    def value(self) -> float: ...
    @property
    def unit(self) -> str: ...


def by_code(observations: Iterable[Reading]) -> dict[str, list[Reading]]:
    """Readings grouped by code, each group in the given (time) order."""
    grouped: dict[str, list[Reading]] = {}
    for o in observations:
        grouped.setdefault(o.code, []).append(o)
    return grouped


def extremes(rows: Sequence[Reading], limit: int = MAX_POINTS) -> list[Reading]:
    """`rows` (in time order) when there are at most `limit`, else the lowest and the highest
    of each of ``(limit - 2) // 2`` equal stretches of their time range, in time order, the
    first and the last reading always kept."""
    import numpy as np

    n = len(rows)
    if n <= limit:
        return list(rows)
    start = rows[0].effective_at
    seconds = np.fromiter(((o.effective_at - start).total_seconds() for o in rows), float, n)
    values = np.fromiter((o.value for o in rows), float, n)
    return [rows[i] for i in _extreme_positions(seconds, values, limit)]


def _extreme_positions(
    seconds: npt.NDArray[np.float64], values: npt.NDArray[np.float64], limit: int
) -> list[int]:
    """The positions `extremes` keeps of more than `limit` readings, from their seconds since
    the first reading and their values."""
    import numpy as np

    n = len(seconds)
    stretches = max(1, (limit - 2) // 2)
    span = seconds[-1] or 1.0
    inner = slice(1, n - 1)
    stretch = np.minimum(stretches - 1, (seconds[inner] / span * stretches).astype(np.int64))
    order = np.lexsort((values[inner], stretch))  # by stretch, then value
    ranked = stretch[order]
    edge = ranked[1:] != ranked[:-1]
    lowest = order[np.r_[True, edge]]
    highest = order[np.r_[edge, True]]
    kept = np.unique(np.concatenate((lowest, highest))) + 1
    return [0, *kept.tolist(), n - 1]


def _drawn(
    rows: ValueSeries | Sequence[Reading], log: bool
) -> tuple[int, list[datetime], list[float], str] | None:
    """What a series' line draws: how many readings it stands for, and the times, values and
    unit of the readings drawn (all of them, or their `extremes`); None when none is left (a
    log axis drops the zeros: "below detection")."""
    if not isinstance(rows, ValueSeries):
        if log:
            rows = [o for o in rows if o.value > 0]
        if not rows:
            return None
        kept = extremes(rows) if len(rows) > MAX_POINTS else rows
        return len(rows), [o.effective_at for o in kept], [o.value for o in kept], o_unit(kept)
    import numpy as np  # a ValueSeries is numpy's already

    positions = np.flatnonzero(rows.values > 0) if log else np.arange(len(rows))
    n = len(positions)
    if not n:
        return None
    if n > MAX_POINTS:  # seconds as `extremes` counts them: exact microseconds / 10⁶
        micros = rows.micros[positions]
        seconds = (micros - micros[0]) / 1e6
        positions = positions[_extreme_positions(seconds, rows.values[positions], MAX_POINTS)]
    times = [rows.effective_at(i) for i in positions.tolist()]
    return n, times, rows.values[positions].tolist(), str(rows.units[positions[0]])


DISEASE_SCALES = ("edss", "mg_adl", "qmg", "mg_composite", "incat", "mrc_sum", "imacs_tis")

_LINE_STYLES = ("solid", "dot", "dash", "longdash")
_MARKERS = ("circle", "square", "diamond", "triangle-up")
_COLOURS = ("#1f4e99", "#b23c17", "#2e7d32", "#6a1b9a")
_THRESHOLD_COLOUR = "#7a0019"


def day_of(at: datetime, infusion: datetime | None) -> float | str:
    """Fractional study day, or the ISO time when there is no infusion to count from."""
    if infusion is None:
        return at.isoformat()
    return round((at - infusion) / timedelta(days=1), 4)


def _layout(title: str, unit: str, *, log: bool, infusion: datetime | None) -> dict[str, Any]:
    return {
        "title": {
            "text": term(title),
            "font": {"size": 16},
            "x": 0.01,
            "xanchor": "left",
            "y": 0.985,
            "yanchor": "top",
        },
        "height": 290,
        "margin": {"l": 60, "r": 20, "t": 66, "b": 45},
        "xaxis": {
            "title": {
                "text": _("study day") if infusion else _("time ({zone})").format(zone=zone_label())
            },
            "zeroline": True,
            **({"rangemode": "tozero"} if infusion else {}),
        },
        "yaxis": {
            "title": {"text": unit},
            "type": "log" if log else "linear",
            **({"dtick": 1} if log else {}),  # decades only: 0.1, 1, 10 ...
        },
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        "hovermode": "closest",
        "shapes": [],
        "annotations": [],
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#fbfbfd",
    }


def _threshold(layout: dict[str, Any], t: Threshold, *, log: bool = False) -> None:
    layout["shapes"].append(
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": t.value,
            "y1": t.value,
            "line": {"color": _THRESHOLD_COLOUR, "width": 1.5, "dash": "dash"},
        }
    )
    layout["annotations"].append(
        {
            "xref": "paper",
            "x": 1,
            "xanchor": "right",
            "yref": "y",
            "y": math.log10(t.value) if log else t.value,  # annotations on log axes: log10
            "yanchor": "bottom",
            "text": _(t.label),
            "showarrow": False,
            "font": {"size": 12, "color": _THRESHOLD_COLOUR},
            "bgcolor": "rgba(255,255,255,0.8)",
        }
    )


def panel_figure(
    panel: Panel,
    observations: Mapping[str, ValueSeries | Sequence[Reading]],
    infusion: datetime | None,
) -> Figure | None:
    """The panel's figure from the observations of each code (`repo.observation_series`, or
    readings grouped by `by_code`), or None when none of its series has a value. A long
    series is drawn by its `extremes`."""
    data = []
    for i, s in enumerate(panel.series):
        drawn = _drawn(observations.get(s.code, ()), panel.log)
        if drawn is None:
            continue
        count, times, values, unit = drawn
        name = _(s.name)
        if count > MAX_POINTS:
            name = _("{series} ({count} readings: lowest and highest per interval)").format(
                series=name, count=f"{count:,}"
            )
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": [day_of(at, infusion) for at in times],
                "y": values,
                "text": format_datetimes(times),
                "hovertemplate": f"{_(s.name)}: %{{y}} {unit}<br>%{{text}}<extra></extra>",
                "line": {"dash": _LINE_STYLES[i % 4], "color": _COLOURS[i % 4], "width": 2},
                "marker": {"symbol": _MARKERS[i % 4], "size": 6, "color": _COLOURS[i % 4]},
            }
        )
    if not data:
        return None
    layout = _layout(panel.title, panel.unit, log=panel.log, infusion=infusion)
    for t in panel.thresholds:
        _threshold(layout, t, log=panel.log)
    return {"data": data, "layout": layout}


def o_unit(rows: Sequence[Reading]) -> str:
    """The unit of a series' rows (all stored in one canonical unit), or "" when there are none."""
    return rows[0].unit if rows else ""


def assessment_figure(
    title: str,
    instruments: Iterable[str],
    assessments: Sequence[Assessment],
    infusion: datetime | None,
    *,
    unit: str | None = None,
    thresholds: tuple[Threshold, ...] = (),
    y_range: tuple[float, float] | None = None,
) -> Figure | None:
    """A score history (one trace per instrument), step-shaped for grades; `unit` labels the
    y axis (default "score", in the reader's language)."""
    data = []
    for i, name in enumerate(instruments):
        rows = [a for a in assessments if a.instrument == name]
        if not rows:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name.upper().replace("_", "-"),
                "x": [day_of(a.effective_at, infusion) for a in rows],
                "y": [a.value for a in rows],
                "text": [core_text(a.label) for a in rows],
                "hovertemplate": "%{text}<br>" + _("day {n}").format(n="%{x}") + "<extra></extra>",
                "line": {"shape": "hv", "dash": _LINE_STYLES[i % 4], "color": _COLOURS[i % 4]},
                "marker": {"symbol": _MARKERS[i % 4], "size": 7, "color": _COLOURS[i % 4]},
            }
        )
    if not data:
        return None
    layout = _layout(title, unit or _("score"), log=False, infusion=infusion)
    if y_range is not None:
        layout["yaxis"]["range"] = list(y_range)
    for t in thresholds:
        _threshold(layout, t)
    return {"data": data, "layout": layout}


STATE_STYLE: dict[str, tuple[str, str]] = {
    SlotState.DONE.value: ("#2e7d32", "circle"),
    SlotState.DUE.value: ("#b26a00", "diamond"),
    SlotState.OVERDUE.value: ("#b00020", "x"),
    SlotState.UPCOMING.value: ("#5c6b7a", "circle-open"),
}
"""Colour and marker of each task state in the timeline (the legend names the state)."""


def _phase_days(schedule: Schedule, infusion: datetime) -> dict[str, tuple[float, float | None]]:
    """Each phase's start and end as study days, where its anchors are known."""
    out: dict[str, tuple[float, float | None]] = {}
    for phase in schedule.protocol.phases:
        begin = _bound_day(schedule, phase.start.anchor, phase.start.offset_days, infusion)
        if begin is None:
            continue
        end = (
            _bound_day(schedule, phase.end.anchor, phase.end.offset_days, infusion)
            if phase.end is not None
            else None
        )
        out[phase.id] = (begin, end)
    return out


def _bound_day(schedule: Schedule, anchor: str, offset: int, infusion: datetime) -> float | None:
    at = schedule.anchors.get(anchor)
    if at is None:
        return None
    return round((at - infusion) / timedelta(days=1), 2) + offset


def short(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters with an ellipsis, for chart labels and table cells."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def timeline_figure(schedule: Schedule, infusion: datetime | None) -> Figure | None:
    """A Gantt-like map of the pathway: one row per phase with its span as a bar, one marker
    per task slot by study day (hover names the task), today as a line. Zoomed to days
    -30 … +60; pan or zoom out for the rest."""
    if infusion is None:
        return None
    titles = {p.id: short(_(p.title)) for p in schedule.protocol.phases}
    rows = [titles[p.id] for p in schedule.protocol.phases]
    data: list[dict[str, Any]] = []
    for phase_id, (begin, end) in _phase_days(schedule, infusion).items():
        stop = end if end is not None else begin + 1
        data.append(
            {
                "type": "scatter", "mode": "lines", "showlegend": False, "hoverinfo": "skip",
                "x": [begin, stop], "y": [titles[phase_id], titles[phase_id]],
                "line": {"color": "rgba(31,78,153,0.18)", "width": 18},
            }
        )  # fmt: skip
    by_state: dict[str, list[tuple[int, str, str]]] = {}
    for slot in schedule.slots:
        if slot.study_day is None or slot.state.value not in STATE_STYLE:
            continue
        when = slot.done_at or slot.due_at
        hover = f"{_(slot.title)} — {_(slot.state.value)}" + (
            f" ({format_date(when)})" if when is not None else ""
        )
        by_state.setdefault(slot.state.value, []).append(
            (slot.study_day, titles.get(slot.phase, slot.phase), hover)
        )
    if not by_state:
        return None
    for state in STATE_STYLE:
        points = by_state.get(state)
        if not points:
            continue
        colour, symbol = STATE_STYLE[state]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": _(state),
                "x": [p[0] for p in points],
                "y": [p[1] for p in points],
                "text": [p[2] for p in points],
                "hovertemplate": "%{text}<br>" + _("day {n}").format(n="%{x}") + "<extra></extra>",
                "marker": {"color": colour, "symbol": symbol, "size": 11, "line": {"width": 1}},
            }
        )
    layout = _layout(N_("Pathway timeline"), "", log=False, infusion=infusion)
    layout["height"] = 60 + 34 * len(rows) + 60
    layout["margin"] = {"l": 285, "r": 20, "t": 50, "b": 45}
    layout["xaxis"]["range"] = [-30, 60]
    layout["yaxis"] = {
        "type": "category", "categoryorder": "array", "categoryarray": list(reversed(rows)),
        "tickfont": {"size": 12},
    }  # fmt: skip
    today = day_of(schedule.now, infusion)
    layout["shapes"].append(
        {
            "type": "line", "xref": "x", "x0": today, "x1": today, "yref": "paper",
            "y0": 0, "y1": 1, "line": {"color": "#111", "width": 2},
        }
    )  # fmt: skip
    layout["annotations"].append(
        {
            "xref": "x", "x": today, "yref": "paper", "y": 1, "text": _("now"),
            "showarrow": False, "yanchor": "bottom",
        }
    )  # fmt: skip
    return {"data": data, "layout": layout}


# --- study records: MRI scans and nerve-conduction studies -----------------------------------


def date_day(on: date, infusion: datetime | None) -> int | str:
    """The study day of a record dated without a time (an MRI scan, a nerve-conduction study):
    calendar days from the infusion's date on the site's clock (day 0; the date is the site's
    own, so the infusion's is too — an infusion at 02:00 Beijing time is on that Beijing date,
    not on the UTC one before it); the ISO date when there is no infusion to count from (the
    figure's x axis then reads it as a date)."""
    if infusion is None:
        return on.isoformat()
    return (on - local_date(infusion)).days


@dataclass(frozen=True)
class StudyTable:
    """A study course as the chart shows it: a table, and the figure drawn from the same rows
    (so the two never disagree)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    figure: Figure | None
    key: str = ""
    """The study form (`mri`, `ncs`) that corrects a row's record."""
    record_ids: tuple[int | None, ...] = ()
    """Per row, the record it shows (its first row only, for a study of several nerves)."""


MRI_COLUMNS = (
    N_("Day"), N_("Date"), N_("Region"), N_("Comparator"), N_("New T2"), N_("Enlarging T2"),
    N_("Gd+"), N_("T2 volume (mL)"), N_("Brain volume (mL)"), N_("PBVC (%)"), N_("Activity"),
)  # fmt: skip
"""The columns of the MRI table (the page shows each in its reader's language)."""


def mri_table(course: Sequence[tuple[MriScan, Result]], infusion: datetime | None) -> StudyTable:
    """Each current scan by date with its counts, volumes and MRI activity; the figure plots
    the new + enlarging T2 and the Gd-enhancing counts per scan, and the T2 lesion volume on
    its own axis."""
    rows = tuple(
        (
            date_day(s.scan_date, infusion), format_date(s.scan_date),
            s.region.value.replace("_", " "),
            format_date(s.comparator_date),
            s.new_t2_lesions, s.enlarging_t2_lesions,
            s.gd_enhancing_lesions if s.contrast_given else None,
            s.t2_lesion_volume_ml, s.brain_volume_ml,
            activity.details.get("pbvc_percent", s.pbvc_percent),
            str(activity.value).replace("_", " "),
        )
        for s, activity in course
    )  # fmt: skip
    ids = tuple(getattr(s, "id", None) for s, _ in course)
    return StudyTable(N_("MRI course"), MRI_COLUMNS, rows, _mri_figure(rows, infusion), "mri", ids)


def _mri_figure(rows: Sequence[tuple[Any, ...]], infusion: datetime | None) -> Figure | None:
    if not rows:
        return None
    days = [r[0] for r in rows]
    t2 = [None if r[4] is None and r[5] is None else (r[4] or 0) + (r[5] or 0) for r in rows]
    traces = [(_("new + enlarging T2"), t2, "y"), (_("Gd-enhancing"), [r[6] for r in rows], "y"),
              (_("T2 lesion volume (mL)"), [r[7] for r in rows], "y2")]  # fmt: skip
    data = [
        {
            "type": "scatter", "mode": "lines+markers", "name": name, "x": days, "y": ys,
            "yaxis": axis, "connectgaps": False,
            "line": {"dash": _LINE_STYLES[i], "color": _COLOURS[i], "width": 2},
            "marker": {"symbol": _MARKERS[i], "size": 8, "color": _COLOURS[i]},
        }
        for i, (name, ys, axis) in enumerate(traces)
        if any(y is not None for y in ys)
    ]  # fmt: skip
    if not data:
        return None
    layout = _layout(N_("MRI: active lesions and T2 lesion volume"), _("lesions"), log=False,
                     infusion=infusion)  # fmt: skip
    layout["xaxis"].pop("rangemode", None)  # baseline scans are before day 0
    layout["yaxis"]["rangemode"] = "tozero"
    layout["yaxis2"] = {"title": {"text": "mL"}, "overlaying": "y", "side": "right",
                        "rangemode": "tozero"}  # fmt: skip
    layout["margin"]["r"] = 60
    return {"data": data, "layout": layout}


NCS_COLUMNS = (
    N_("Day"), N_("Date"), N_("Nerve"), N_("DL (ms)"), N_("DL ULN"), N_("CV (m/s)"),
    N_("CV LLN"), N_("F (ms)"), N_("CMAP distal (mV)"), N_("CMAP proximal (mV)"),
    N_("Findings"), N_("Study criteria"),
)  # fmt: skip
"""The columns of the nerve-conduction table (shown in the reader's language)."""
NCS_FIGURE_VALUE = ("conduction_velocity_m_s", N_("Motor conduction velocity"), "m/s")
"""The per-nerve value the figure follows: the conduction velocity (demyelination slows it,
and remyelination after treatment brings it back)."""


def _f_wave(nerve: dict[str, Any]) -> Any:
    return "absent" if nerve.get("f_waves_absent") else nerve.get("f_wave_latency_ms")


def ncs_table(
    course: Sequence[tuple[NerveConductionStudy, Result]], infusion: datetime | None
) -> StudyTable:
    """One row per study and motor nerve with its key values and limits, the EAN/PNS 2021
    finding letters for that nerve and the study's overall reading; the figure follows each
    nerve's conduction velocity over study days."""
    rows = []
    ids: list[int | None] = []
    for study, criteria in course:
        findings = criteria.details.get("findings", {})
        for k, n in enumerate(study.nerves):
            ids.append(getattr(study, "id", None) if k == 0 else None)
            key = f"{n['side']} {n['nerve']}"
            rows.append(
                (
                    date_day(study.study_date, infusion), format_date(study.study_date), key,
                    n.get("distal_latency_ms"), n.get("distal_latency_uln_ms"),
                    n.get("conduction_velocity_m_s"), n.get("conduction_velocity_lln_m_s"),
                    _f_wave(n), n.get("cmap_distal_mv"), n.get("cmap_proximal_mv"),
                    ", ".join(findings.get(key, [])) or "—",
                    str(criteria.value).replace("_", " "),
                )
            )  # fmt: skip
    return StudyTable(N_("Nerve conduction"), NCS_COLUMNS, tuple(rows),
                      _ncs_figure(rows, infusion), "ncs", tuple(ids))  # fmt: skip


def _ncs_figure(rows: Sequence[tuple[Any, ...]], infusion: datetime | None) -> Figure | None:
    column = NCS_COLUMNS.index("CV (m/s)")
    by_nerve: dict[str, list[tuple[Any, Any]]] = {}
    for r in rows:
        if r[column] is not None:
            by_nerve.setdefault(r[2], []).append((r[0], r[column]))
    if not by_nerve:
        return None
    data = [
        {
            "type": "scatter", "mode": "lines+markers", "name": nerve,
            "x": [p[0] for p in points], "y": [p[1] for p in points],
            "line": {"dash": _LINE_STYLES[i % 4], "color": _COLOURS[i % 4], "width": 2},
            "marker": {"symbol": _MARKERS[i % 4], "size": 8, "color": _COLOURS[i % 4]},
        }
        for i, (nerve, points) in enumerate(sorted(by_nerve.items()))
    ]  # fmt: skip
    layout = _layout(NCS_FIGURE_VALUE[1], NCS_FIGURE_VALUE[2], log=False, infusion=infusion)
    layout["xaxis"].pop("rangemode", None)
    return {"data": data, "layout": layout}


# --- CSF indices: the punctures whose values computed an index not --------------------------

CSF_INDEX_NAMES = {
    "qalb": N_("Albumin quotient (Qalb)"),
    "igg_index": N_("IgG index"),
    "igg_if": N_("Intrathecal IgG fraction"),
    "reibergram_igg": N_("Reibergram region"),
    "kflc_index": N_("κFLC index"),
    "lflc_index": N_("λFLC index"),
    "ocb_pattern": N_("Oligoclonal band pattern"),
}
"""The derived CSF indices (`neurocart.services.csf_indices.DERIVED_KEYS`) by name."""

ANALYTE_WORDS = {
    "albumin": N_("albumin"),
    "igg": "IgG",
    "kflc": N_("κ free light chains"),
    "lflc": N_("λ free light chains"),
}
TREATMENT_WORDS = {"albumin": N_("albumin infusion"), "plasma_exchange": N_("plasma exchange")}

NOT_COMPUTED_NOTE = N_("{index} not computed for the lumbar puncture of {date}: {reason}")
NOT_COMPUTED_REASONS = {
    "no_serum_pair": N_("no serum {analyte} within {window_h} h of the CSF sample"),
    "no_csf_value": N_("no CSF {analyte} at this puncture"),
    "no_age": N_("no age (birth year) for the age-dependent Qalb limit"),
    "below_formula_age": N_(
        "the Qalb age formula applies from age {age}; the laboratory's infant limits are needed"
    ),
    "invalidated_by_treatment": N_(
        "{treatment} on {date}, less than {window_h} h before: the albumin quotient and every "
        "quotient based on it are invalid"
    ),
    "calculator_refused": N_("the paired values were refused ({error})"),
}
"""The reader's words for each reason (`neurocart.ingest.csf_pairs.NOT_COMPUTED` codes)."""


class NotComputedReason(Protocol):
    """Why an index was not computed, as `neurocart.ingest.csf_pairs.NotComputed` says it."""

    @property
    def code(self) -> str: ...
    @property
    def params(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...


class PunctureReadout(Protocol):
    """A lumbar puncture as the chart reads it (`neurocart.ingest.csf_pairs.Puncture`)."""

    @property
    def csf_at(self) -> datetime: ...
    @property
    def not_computed(self) -> Mapping[str, NotComputedReason]: ...


def not_computed_reason(why: NotComputedReason) -> str:
    """One reason in the reader's language; a code this face does not know, as the core's
    English."""
    template = NOT_COMPUTED_REASONS.get(why.code)
    if template is None:
        return why.text
    params = dict(why.params)
    analyte, treatment = params.get("analyte", ""), params.get("treatment", "")
    treated_at = params.get("treated_at")
    shown = {
        "analyte": _(ANALYTE_WORDS.get(analyte, analyte)),
        "window_h": params.get("window_h", ""),
        "age": params.get("age", ""),
        "treatment": _(TREATMENT_WORDS.get(treatment, treatment)),
        "date": format_date(datetime.fromisoformat(treated_at)) if treated_at else "",
        "error": core_text(params.get("error", "")),
    }
    return _(template).format(**shown)


def csf_index_notes(punctures: Iterable[PunctureReadout]) -> list[str]:
    """One line per index a lumbar puncture's values did not give, newest puncture first:
    "κFLC index not computed for the lumbar puncture of 2025-03-01: no serum κ free light
    chains within 48 h of the CSF sample" (the date on the site's calendar)."""
    notes = []
    for p in sorted(punctures, key=lambda p: p.csf_at, reverse=True):
        for name, why in p.not_computed.items():
            notes.append(
                _(NOT_COMPUTED_NOTE).format(
                    index=_(CSF_INDEX_NAMES.get(name, name)),
                    date=format_date(p.csf_at),
                    reason=not_computed_reason(why),
                )
            )
    return notes
