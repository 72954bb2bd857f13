"""Each figure draws what its table says: read the plotted artists back and compare.

The relapse-free survival curves are step functions (steps only at events), with a mark at
each censored patient, stopping where fewer than 5 patients remain at risk — the caption's
promise; the forest plot's squares sit at the Cox table's hazard ratios.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from matplotlib.lines import Line2D

from neurocart.cohort import analyse
from neurocart.cohort.plots import MIN_AT_RISK
from neurocart.outcomes.definitions import DISEASE_LABELS
from neurocart.reports import build_report
from tests.cohort.factory import random_cohort

CUTOFF = date(2026, 6, 1)


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return analyse(random_cohort(60, seed=4), cutoff=CUTOFF)


def _drawn(line: Line2D, month: float) -> float:
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    if month > x[-1]:
        return math.nan
    return float(y[int(np.searchsorted(x, month, side="right")) - 1])


def test_each_km_curve_reads_as_its_table(result) -> None:  # type: ignore[no-untyped-def]
    ax = result.figures["km"].axes[0]
    curves = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
    table = result.tables["relapse_free_survival"]
    checked = 0
    for key, label in DISEASE_LABELS.items():
        rows = table[table["group"] == label]
        if rows.empty or rows["n_at_risk"].max() < MIN_AT_RISK:
            continue
        line = curves[f"km-{key}"]
        assert line.get_drawstyle() == "steps-post"
        for row in rows.itertuples():
            drawn = _drawn(line, float(row.month))
            if row.n_at_risk >= MIN_AT_RISK:
                assert drawn == pytest.approx(row.survival, abs=1e-9), (label, row.month)
                checked += 1
            else:  # the curve has stopped before this month
                assert math.isnan(drawn), (label, row.month, drawn)
    assert checked >= 6


def test_km_steps_only_at_events_and_marks_censored(result) -> None:  # type: ignore[no-untyped-def]
    ax = result.figures["km"].axes[0]
    steps = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("km-")]
    marks = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("censor-")]
    assert steps
    assert marks
    for line in steps:
        y = np.asarray(line.get_ydata(), dtype=float)
        assert y[0] == 1.0
        assert np.all(np.diff(y) <= 0)  # never rises
    for mark in marks:
        assert mark.get_marker() == "|"
        curve = next(ln for ln in steps if ln.get_gid() == "km-" + mark.get_gid().split("-", 1)[1])
        for x, y in zip(*mark.get_data(), strict=True):
            assert _drawn(curve, float(x)) == pytest.approx(float(y))


def test_figure_values_are_the_drawn_ones(result) -> None:  # type: ignore[no-untyped-def]
    """The values the Cohort page lists beside the figure are those the figure draws."""
    ax = result.figures["km"].axes[0]
    curves = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
    by_label = {v: k for k, v in DISEASE_LABELS.items()} | {"All": "all"}
    for row in result.figure_values["km"].itertuples():
        line = curves.get(f"km-{by_label[row.group]}")
        drawn = math.nan if line is None else _drawn(line, float(row.month))
        assert (math.isnan(drawn) and math.isnan(row.plotted_survival)) or drawn == pytest.approx(
            row.plotted_survival
        )


def test_forest_squares_sit_at_the_cox_hazard_ratios(result) -> None:  # type: ignore[no-untyped-def]
    if "forest" not in result.figures:
        pytest.skip("no Cox model for this cohort")
    ax = result.figures["forest"].axes[0]
    xs = np.concatenate([np.asarray(ln.get_xdata(), dtype=float) for ln in ax.get_lines()])
    for hr in result.tables["cox_model"]["hazard_ratio"]:
        assert np.isclose(xs, float(hr)).any(), hr


def test_a_synthetic_report_says_so_on_every_page(tmp_path: Path) -> None:
    files = build_report(
        random_cohort(30, seed=5), tmp_path, cutoff=CUTOFF, cohort_definition="t", synthetic=True
    )
    html = files.html.read_text("utf-8")
    assert 'id="synthetic-notice"' in html
    assert "@top-center" in html  # the running header of every PDF page
    from weasyprint import HTML  # type: ignore[import-untyped]

    pages = HTML(string=html).render().pages  # the very layout the PDF was written from
    assert len(pages) == files.pdf_pages
    for page in pages:
        assert any("SYNTHETIC DATA" in text for text in _texts(page._page_box))


def _texts(box: object) -> list[str]:
    text = getattr(box, "text", None)
    out = [text] if isinstance(text, str) else []
    for child in getattr(box, "children", None) or ():
        out += _texts(child)
    return out


def test_a_real_report_has_no_synthetic_notice(tmp_path: Path) -> None:
    files = build_report(random_cohort(30, seed=5), tmp_path, cutoff=CUTOFF, cohort_definition="t")
    assert 'id="synthetic-notice"' not in files.html.read_text("utf-8")
