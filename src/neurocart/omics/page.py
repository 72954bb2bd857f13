"""An HTML page of a run: the figures, the per-sample readouts and the comparisons with
their small-n caveat. One self-contained file beside the figures (linked, not inlined), in
the language of the command that writes it (`neurocart --lang zh_CN omics run`); the
readouts' column names and the study IDs stay as they are, like the CSV beside it."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from neurocart import i18n
from neurocart.i18n import N_, core_text, term
from neurocart.i18n import gettext as _

if TYPE_CHECKING:
    from neurocart.omics.readouts import Comparison
    from neurocart.omics.run import RunResult

TITLES = {
    "umap_cell_types": N_("Cells by type"),
    "umap_car": N_("CAR+ cells (by transcript, and by clonotype)"),
    "b_plasma_fractions": N_("B and plasma cells before vs after infusion"),
    "car_csf_blood": N_("CAR+ cells, {percent} of T cells, in CSF vs blood over study days"),
    "clonotype_overlap": N_("Clonotype sharing between CSF, blood and the infusion product"),
}
"""Each figure's caption; a percent sign is the field {percent} (gettext tools read "% o" as
a printf placeholder)."""


def _title(name: str) -> str:
    return _(TITLES[name]).format(percent="%") if name in TITLES else name


def comparison_lines(c: Comparison) -> list[str]:
    """One comparison in the reader's language: the comparison, and its caveat if it has one
    (the page and `neurocart omics run` show it so; comparisons.txt keeps the English of
    `Comparison.text`)."""
    p = "n/a" if c.p_value is None else f"{c.p_value:.3g}"
    text = _(
        "{measure}: {a} median {median_a} vs {b} median {median_b} "
        "(n = {n} patients; {test}, p = {p})"
    ).format(
        measure=c.measure, a=term(c.label_a), median_a=f"{c.median_a:.3g}", b=term(c.label_b),
        median_b=f"{c.median_b:.3g}", n=c.n_patients, test=term(c.test), p=p,
    )  # fmt: skip
    if not c.caveat:
        return [text]
    return [text, _("caveat: {caveat}").format(caveat=core_text(c.caveat))]


def _comparison(c: Comparison) -> str:
    """One comparison as the page shows it."""
    return "<li>" + "<br>".join(html.escape(line) for line in comparison_lines(c)) + "</li>"


def write_page(path: Path, result: RunResult, pictures: dict[str, Path]) -> Path:
    """Write index.html (figures linked relative to it); returns its path."""
    table = result.readouts.to_html(
        index=False, float_format=lambda v: f"{v:.2f}", na_rep="", border=0
    )
    comparisons = "".join(_comparison(c) for c in result.comparisons)
    figures = "".join(
        f'<figure><img src="{html.escape(p.relative_to(path.parent).as_posix())}" '
        f'alt="{html.escape(_title(k))}"><figcaption>{html.escape(_title(k))}'
        "</figcaption></figure>"
        for k, p in pictures.items()
    )
    missing = ", ".join(result.missing_genes) or _("none")
    summary = _(
        "{cells} cells after quality control, {samples} samples, {patients} patients. "
        "Panel genes not in the data: {missing}."
    ).format(
        cells=result.adata.n_obs, samples=len(result.readouts),
        patients=result.readouts["study_id"].nunique(), missing=missing,
    )  # fmt: skip
    caveat = _(
        "Comparisons use one proportion per patient and sample; cells are never treated as "
        "replicates."
    )
    none = _("no paired samples to compare")
    title, heading = _("neurocart omics run"), _("Single-cell readouts")
    sections = (_("Figures"), _("Readouts per sample"), _("Across patients"))
    # the texts above stay outside the f-string, where the catalogue's extractor finds them
    page = f"""<!doctype html>
<html lang="{i18n.current().replace("_", "-")}"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2rem; color: #222; }}
figure {{ display: inline-block; margin: 0 1rem 1.5rem 0; vertical-align: top; }}
img {{ max-width: 720px; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 0.85rem; }}
th, td {{ padding: 0.2rem 0.5rem; border-bottom: 1px solid #eee; text-align: right; }}
.caveat {{ background: #fff4d6; padding: 0.5rem 1rem; border-left: 4px solid #e0a800; }}
</style></head><body>
<h1>{html.escape(heading)}</h1>
<p>{html.escape(summary)}</p>
<h2>{html.escape(sections[0])}</h2>{figures}
<h2>{html.escape(sections[1])}</h2>{table}
<h2>{html.escape(sections[2])}</h2>
<p class="caveat">{html.escape(caveat)}</p>
<ul>{comparisons or f"<li>{html.escape(none)}</li>"}</ul>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
