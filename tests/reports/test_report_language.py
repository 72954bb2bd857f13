"""The report in Chinese: the biomarker section (title, captions, headings, word cells) and the
text inside the matplotlib figures (titles, axis labels, legends, the at-risk row)."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from neurocart import i18n
from neurocart.cohort import analyse
from neurocart.reports.build import render_html
from tests.cohort.factory import random_cohort

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_KEPT = {"CAR-T", "CI", "Kaplan", "Meier", "Cox", "L2", "LLOQ", "BLOOD", "CSF", "EDSS",
              "MG-ADL", "INCAT", "CK", "TIS", "MS", "MG", "NMOSD", "IMNM", "CIDP", "n", "D0",
              "copies", "DNA", "g", "log10", "Cmax", "z"}  # fmt: skip
"""Abbreviations, units and names that stay Latin in a Chinese figure."""


@pytest.fixture(scope="module")
def chinese_figures() -> dict[str, Figure]:
    with i18n.using("zh_CN"):
        result = analyse(random_cohort(40, seed=4), cutoff=date(2026, 6, 1))
    yield result.figures
    for fig in result.figures.values():
        plt.close(fig)


def texts(fig: Figure) -> list[str]:
    """Every text the figure draws: titles, axis labels, legend entries, tick labels."""
    found = [t.get_text() for t in fig.findobj(Text)]
    return [t for t in found if t.strip()]


def english_left(text: str) -> list[str]:
    """Latin words of a figure text that are no kept abbreviation (tick labels in mathtext,
    "$10^{2}$", and study IDs are no words)."""
    if text.startswith("$"):
        return []
    words = re.findall(r"[A-Za-z][A-Za-z0-9\-]*", re.sub(r"NC-\d+|\(n=\d+\)", " ", text))
    return [w for w in words if w not in LATIN_KEPT]


@pytest.mark.parametrize("name", ["km", "swimmer", "spider", "kinetics", "forest"])
def test_the_figures_labels_are_chinese(chinese_figures: dict[str, Figure], name: str) -> None:
    fig = chinese_figures[name]
    ax = fig.axes[0]
    title = ax.get_title() or (fig._suptitle.get_text() if fig._suptitle else "")
    assert CJK.search(title), title
    assert CJK.search(ax.get_xlabel()), ax.get_xlabel()
    left = [(t, english_left(t)) for t in texts(fig) if english_left(t)]
    assert left == [], left


def test_the_legends_and_the_at_risk_row_are_chinese(chinese_figures: dict[str, Figure]) -> None:
    km = chinese_figures["km"]
    legend = [t.get_text() for t in km.axes[0].get_legend().get_texts()]
    assert any(text.startswith(("多发性硬化", "重症肌无力", "全部")) for text in legend), legend
    assert any("风险人数" in t for t in texts(km))
    swimmer = [t.get_text() for t in chinese_figures["swimmer"].axes[0].get_legend().get_texts()]
    assert "末次随访时缓解" in swimmer
    assert "开始维持治疗" in swimmer


def test_english_figures_are_unchanged() -> None:
    result = analyse(random_cohort(20, seed=4), cutoff=date(2026, 6, 1))
    try:
        assert result.figures["km"].axes[0].get_xlabel() == "Months since CAR-T infusion"
        assert "At risk" in "".join(texts(result.figures["km"]))
    finally:
        for fig in result.figures.values():
            plt.close(fig)


def _with_ocb_table() -> SimpleNamespace:
    table = pd.DataFrame(
        [{"group": "Myasthenia gravis", "with_baseline_ocb": 4, "csf_specific_before": 3,
          "followed_up": 3, "converted_to_negative": 2}]
    )  # fmt: skip
    timed = pd.DataFrame([{"test": "nhpt", "patients_assessed": 5, "confirmed_worsening": 1,
                           "proportion": 0.2}])  # fmt: skip
    return SimpleNamespace(
        tables={"ocb_conversion": table, "timed_test_worsening": timed},
        figures={},
        n_patients=5,
    )


def test_the_biomarker_section_in_chinese() -> None:
    with i18n.using("zh_CN"):
        html, _ = render_html(
            _with_ocb_table(),  # type: ignore[arg-type]
            cutoff=date(2026, 6, 1), cohort_definition="测试队列", pngs={},
        )  # fmt: skip
    assert "神经免疫学指标：脑脊液、寡克隆区带" in html
    assert "寡克隆区带：回输前有脑脊液特异性区带" in html
    for heading in (
        "疾病",
        "获得随访（n）",
        "末次腰穿无脑脊液特异性区带（n）",
        "测试",
        "已评估（n）",
    ):
        assert f">{heading}</th>" in html, heading
    assert "<td>重症肌无力（MG）</td>" in html
    assert "<td>九孔插板试验</td>" in html


def test_the_biomarker_section_in_english() -> None:
    with i18n.using("en"):
        html, _ = render_html(
            _with_ocb_table(),  # type: ignore[arg-type]
            cutoff=date(2026, 6, 1), cohort_definition="test cohort", pngs={},
        )  # fmt: skip
    assert ">Followed up (n)</th>" in html
    assert "<td>Myasthenia gravis</td>" in html
    assert "<td>9-hole peg test</td>" in html


def test_the_methods_text_in_chinese() -> None:
    """The methods section is the outcome definitions' docstring, translated piece by piece."""
    from neurocart.reports.build import methods

    with i18n.using("zh_CN"):
        html, _ = render_html(
            _with_ocb_table(),  # type: ignore[arg-type]
            cutoff=date(2026, 6, 1), cohort_definition="测试队列", pngs={},
        )  # fmt: skip
    methods_html = html[html.index('<div class="defs">') :]
    assert "<h3>基线与时间点（neurocart 约定；因各文献做法不一，特此说明）</h3>" in methods_html
    assert "重症肌无力（MG）：MG-ADL 较基线改善 ≥ 2 分" in methods_html
    english = [text for kind, text in methods() if kind != "heading"]
    assert not [text for text in english if text.replace('"', "&#34;") in methods_html]


def test_the_single_cell_readouts_are_named_in_chinese_and_keep_their_codes() -> None:
    table = pd.DataFrame(
        [{"code": "local:sc_car_pct_t_csf",
          "readout": "CAR+ cells, % of T cells in CSF (single-cell)",
          "patients": 0, "samples": 0, "caveat": "no samples stored (neurocart omics run --store)"}]
    )  # fmt: skip
    result = SimpleNamespace(tables={"single_cell_readouts": table}, figures={}, n_patients=0)
    with i18n.using("zh_CN"):
        html, _ = render_html(
            result,  # type: ignore[arg-type]
            cutoff=date(2026, 6, 1), cohort_definition="测试队列", pngs={},
        )  # fmt: skip
    assert "<td>脑脊液 CAR+ 细胞占 T 细胞百分比（单细胞）</td>" in html
    assert "<td>local:sc_car_pct_t_csf</td>" in html
