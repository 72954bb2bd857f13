"""The analysis's figures are drawn when they are rendered, in the analysis's language, and
no registry of open figures keeps them (a cached analysis holds its data, not its figures)."""

from __future__ import annotations

from datetime import date

import matplotlib.pyplot as plt

from neurocart import i18n
from neurocart.cohort import analyse
from neurocart.cohort.plots import MONTHS_SINCE_INFUSION
from neurocart.reports.build import figure_pngs
from tests.cohort.factory import random_cohort


def test_figures_are_drawn_when_asked_for_and_left_open_by_nobody() -> None:
    before = plt.get_fignums()
    result = analyse(random_cohort(24, seed=3), cutoff=date(2026, 6, 1))
    assert {"km", "swimmer", "spider", "kinetics"} <= set(result.figures)
    assert plt.get_fignums() == before  # nothing drawn yet
    km = result.figures["km"]
    assert km is not result.figures["km"]  # drawn anew each time: not kept by the analysis
    pngs = figure_pngs(result)
    assert sorted(pngs) == sorted(result.figures)
    assert all(png.startswith(b"\x89PNG") for png in pngs.values())
    assert plt.get_fignums() == before


def test_a_figure_speaks_the_language_the_analysis_ran_in() -> None:
    with i18n.using("zh_CN"):
        result = analyse(random_cohort(24, seed=3), cutoff=date(2026, 6, 1))
        chinese = i18n.gettext(MONTHS_SINCE_INFUSION)
    assert chinese != MONTHS_SINCE_INFUSION
    with i18n.using("en"):  # rendered later, for a reader of another language
        assert result.figures["km"].axes[0].get_xlabel() == chinese
