"""Chinese in the PDF report and the figures: glyphs present, drawn with a CJK font."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from neurocart import i18n, plotfonts


def _fontconfig_has_cjk() -> bool:
    if shutil.which("fc-list") is None:
        return False
    found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return "CJK" in found.stdout


needs_cjk = pytest.mark.skipif(
    not _fontconfig_has_cjk(),
    reason="no CJK font installed (Debian fonts-noto-cjk; `make system-deps` installs it)",
)


@needs_cjk
def test_a_chinese_report_page_has_its_text_in_a_cjk_font(tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    from neurocart.reports.build import render_html, write_pdf

    empty = SimpleNamespace(tables={}, figures={}, n_patients=3)
    with i18n.using("zh_CN"):
        html, _ = render_html(
            empty,  # type: ignore[arg-type]
            cutoff=date(2025, 3, 3),
            cohort_definition="重症肌无力（MG）患者",
            pngs={},
        )
    assert '<html lang="zh-CN">' in html
    assert "2025年3月3日" in html
    pdf = tmp_path / "report.pdf"
    write_pdf(html, pdf)
    reader = pypdf.PdfReader(pdf)
    text = reader.pages[0].extract_text()
    assert "队列定义" in text  # the translated label, as text (not boxes)
    assert "重症肌无力" in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("CJK" in name for name in fonts), fonts


@needs_cjk
def test_matplotlib_draws_chinese_without_missing_glyphs() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plotfonts.configure()
    fig, ax = plt.subplots()
    ax.set_title("无复发生存")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise
        fig.canvas.draw()
    plt.close(fig)
    assert plotfonts.cjk_family() in matplotlib.rcParams["font.sans-serif"]
