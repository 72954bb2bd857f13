"""The cohort report: one self-contained HTML file, its PDF, and every table as CSV.

Figures are embedded as base64 PNG (no external file is needed to read the HTML); the PDF is
rendered from the same HTML by WeasyPrint. The template is package data
(`neurocart/reports/templates/report.html.j2`).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from jinja2 import Environment, select_autoescape
from matplotlib.figure import Figure

from neurocart import i18n
from neurocart.cohort import analyse
from neurocart.cohort.analysis import CohortAnalysis
from neurocart.frames import CohortFrames
from neurocart.i18n import N_
from neurocart.i18n import gettext as _
from neurocart.outcomes import definitions
from neurocart.reports import biomarkers
from neurocart.reports.tables import html_table

TITLE = N_("CAR-T in refractory neuroimmune disease — cohort report")
CSV_DIR = "tables"
FIGURE_DPI = 110
SYNTHETIC_NOTICE = N_("SYNTHETIC DATA — simulated patients, not a clinical record")
"""Printed on every page of a report built from simulated data."""


@dataclass(frozen=True)
class ReportFiles:
    """Where the report went."""

    html: Path
    pdf: Path
    csv: dict[str, Path]
    figures: dict[str, Path]
    pdf_pages: int


CAPTIONS = {
    "outcome_summary": N_(
        "Outcome by disease at last follow-up among infused patients (change = last "
        "minus baseline of the disease's primary scale, in its points; IMNM's total improvement "
        "score is itself a change score, so no change is given)."
    ),
    "relapse_free_survival": N_(
        "Kaplan–Meier relapse-free survival (event: relapse or death) with "
        "95 % CI and the number still at risk; empty where nobody was followed that long."
    ),
    "drug_free_remission": N_(
        "Drug-free remission (in remission, no maintenance immunotherapy) among "
        "patients followed to the time point, with exact Clopper–Pearson 95 % CIs."
    ),
    "toxicity": N_(
        "Worst grade per patient after infusion: CRS and ICANS (ASTCT), early ICAHT "
        "(EHA/EBMT, days 0–30; denominator = patients with an ANC), infections (CTCAE)."
    ),
    "kinetics_summary": N_(
        "CAR-T non-compartmental analysis per compartment: median (IQR) across "
        "patients with a value (all sampled patients for Cmax, Tmax and AUC; detected ones for "
        "persistence; patients with same-day blood and CSF samples for the ratio)."
    ),
    "responder_effect_sizes": N_(
        "Responders (in remission at last follow-up) vs non-responders: "
        "mean (SD) or n (%) per group, standardized mean difference (SMD) and odds ratio of "
        "response with Woolf 95 % CI."
    ),
    "cox_model": N_(
        "Cox proportional-hazards model of relapse-free survival (hazard ratios with 95 % CI)."
    ),
}
FIGURE_CAPTIONS = {
    "km": N_(
        "Relapse-free survival by disease with 95 % CI bands; numbers at risk below "
        "the axis; each curve stops where fewer than 5 patients remain at risk."
    ),
    "swimmer": N_(
        "Each bar is one patient's follow-up since infusion, coloured by remission "
        "status at last follow-up, with relapses, maintenance-therapy starts, grade ≥ 3 "
        "infections and deaths."
    ),
    "spider": N_(
        "Percent change from baseline of each disease's scale over time (EDSS, MG-ADL, "
        "INCAT; CK for IMNM); thin lines are patients, the bold line the monthly median."
    ),
    "kinetics": N_(
        "CAR-T transgene levels in blood and CSF: median and interquartile range across "
        "patients per study day (log scale; below-LLOQ values drawn at LLOQ/2)."
    ),
    "forest": N_("Hazard ratios of relapse or death from the Cox model (log scale)."),
}
CAPTIONS |= biomarkers.CAPTIONS
FIGURE_CAPTIONS |= biomarkers.FIGURE_CAPTIONS


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
    plt.close(fig)
    return buffer.getvalue()


def _sections(result: CohortAnalysis, pngs: dict[str, bytes]) -> list[dict[str, Any]]:
    def table(name: str) -> dict[str, Any] | None:
        if name not in result.tables:
            return None
        return {
            "kind": "table",
            "name": name,
            "caption": _(CAPTIONS[name]),
            "html": html_table(name, result.tables[name]),
        }

    def figure(name: str) -> dict[str, Any] | None:
        if name not in pngs:
            return None
        data = base64.b64encode(pngs[name]).decode("ascii")
        return {"kind": "figure", "name": name, "caption": _(FIGURE_CAPTIONS[name]), "data": data}

    layout: list[tuple[str, list[dict[str, Any] | None], bool]] = [
        (N_("Outcomes by disease"), [table("outcome_summary")], False),
        (N_("Relapse-free survival"), [figure("km"), table("relapse_free_survival")], False),
        (N_("Drug-free remission at 12 and 24 months"), [table("drug_free_remission")], False),
        (N_("Safety: CRS, ICANS, ICAHT and infections"), [table("toxicity")], False),
        (
            N_("CAR-T kinetics in blood and CSF"),
            [figure("kinetics"), table("kinetics_summary")],
            False,
        ),
        (N_("Course of each patient"), [figure("swimmer")], True),
        (N_("Change of the disease scales"), [figure("spider")], False),
        (
            biomarkers.TITLE,
            [table(n) if k == "table" else figure(n) for k, n in biomarkers.ITEMS],
            True,
        ),
        (
            N_("Who does not benefit: responder stratification"),
            [table("responder_effect_sizes"), figure("forest"), table("cox_model")],
            True,
        ),
        (
            N_("Methods and definitions"),
            [{"kind": "methods", "pieces": [(kind, _(text)) for kind, text in methods()]}],
            True,
        ),
    ]
    return [
        {"title": _(title), "items": [i for i in items if i is not None], "page_break": brk}
        for title, items, brk in layout
    ]


def methods() -> list[tuple[str, str]]:
    """The report's methods text, piece by piece: ("heading", text), ("item", a bullet) or
    ("paragraph", text), each on one line.

    It is the docstring of `neurocart.outcomes.definitions`, so the report states the rules the
    code applies and nothing else to keep in step. Each piece is a catalogue message of its
    own (listed through `locale/sources.toml`), so a changed rule asks for the translation of
    that one piece only."""
    doc = (definitions.__doc__ or "").strip().replace("**", "")
    pieces: list[tuple[str, str]] = []
    for block in doc.split("\n\n"):
        lines = [line.strip() for line in block.splitlines()]
        if len(lines) > 1 and set(lines[1]) == {"-"}:
            pieces.append(("heading", lines[0]))
            lines = lines[2:]
        for i, line in enumerate(lines):
            if line.startswith("* "):
                pieces.append(("item", line[2:]))
            elif i == 0:
                pieces.append(("paragraph", line))
            else:  # a wrapped line continues the bullet or the paragraph above it
                kind, text = pieces[-1]
                pieces[-1] = (kind, f"{text} {line}")
    return pieces


def methods_texts() -> list[str]:
    """The English pieces of the methods text, for the catalogues."""
    return [text for _kind, text in methods()]


def figure_pngs(result: CohortAnalysis) -> dict[str, bytes]:
    """Each figure as PNG bytes (closes the matplotlib figures: render once, keep the bytes)."""
    return {name: _png(fig) for name, fig in result.figures.items()}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("neurocart")
    except Exception:  # pragma: no cover - not installed
        return "dev"


def render_html(
    result: CohortAnalysis,
    *,
    cutoff: date,
    cohort_definition: str,
    pngs: dict[str, bytes] | None = None,
    synthetic: bool = False,
) -> tuple[str, dict[str, bytes]]:
    """The report's HTML (figures embedded) and the figures' PNG bytes.

    `pngs` may be passed when the figures were already rendered (`figure_pngs`).
    """
    pngs = figure_pngs(result) if pngs is None else pngs
    env = Environment(
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    source = (
        resources.files("neurocart.reports").joinpath("templates/report.html.j2").read_text("utf-8")
    )
    html = env.from_string(source).render(
        title=_(TITLE),
        lang=i18n.current().replace("_", "-"),
        cutoff=i18n.format_date(cutoff),
        cohort_definition=cohort_definition,
        n_patients=result.n_patients,
        generated=i18n.format_datetime(datetime.now(UTC)),
        version=_version(),
        csv_dir=CSV_DIR,
        sections=_sections(result, pngs),
        synthetic=synthetic,
        synthetic_notice=_(SYNTHETIC_NOTICE),
    )
    return html, pngs


def write_pdf(html: str, path: Path) -> int:
    """Render the HTML to PDF with WeasyPrint; returns the number of pages."""
    from weasyprint import HTML  # type: ignore[import-untyped]

    document = HTML(string=html).render()
    document.write_pdf(path)
    return len(document.pages)


def write_report(
    result: CohortAnalysis,
    out_dir: str | Path,
    *,
    cutoff: date,
    cohort_definition: str,
    pngs: dict[str, bytes] | None = None,
    synthetic: bool = False,
) -> ReportFiles:
    """Write report.html, report.pdf, tables/*.csv and figures/*.png of an analysis."""
    out = Path(out_dir)
    (out / CSV_DIR).mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    csv: dict[str, Path] = {}
    for name, table in result.tables.items():
        path = out / CSV_DIR / f"{name}.csv"
        table.to_csv(path, index=False)
        csv[name] = path
    html, pngs = render_html(
        result, cutoff=cutoff, cohort_definition=cohort_definition, pngs=pngs, synthetic=synthetic
    )
    figures: dict[str, Path] = {}
    for name, data in pngs.items():
        path = out / "figures" / f"{name}.png"
        path.write_bytes(data)
        figures[name] = path
    html_path = out / "report.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = out / "report.pdf"
    pages = write_pdf(html, pdf_path)
    return ReportFiles(html=html_path, pdf=pdf_path, csv=csv, figures=figures, pdf_pages=pages)


def build_report(
    frames: CohortFrames,
    out_dir: str | Path,
    *,
    cutoff: date,
    cohort_definition: str,
    analysis: CohortAnalysis | None = None,
    synthetic: bool = False,
) -> ReportFiles:
    """Analyse `frames` as of `cutoff`; write report.html, report.pdf, tables/, figures/.

    `analysis` may be passed when it was already computed with the same cut-off.
    """
    result = analysis if analysis is not None else analyse(frames, cutoff=cutoff)
    return write_report(
        result, out_dir, cutoff=cutoff, cohort_definition=cohort_definition, synthetic=synthetic
    )
