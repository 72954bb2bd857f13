"""An HTML page of a run: the figures, the per-sample readouts and the comparisons with
their small-n caveat. One self-contained file beside the figures (linked, not inlined)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neurocart.omics.run import RunResult

TITLES = {
    "umap_cell_types": "Cells by type",
    "umap_car": "CAR+ cells (by transcript, and by clonotype)",
    "b_plasma_fractions": "B and plasma cells before vs after infusion",
    "car_csf_blood": "CAR+ % of T cells in CSF vs blood over study days",
    "clonotype_overlap": "Clonotype sharing between CSF, blood and the infusion product",
}


def write_page(path: Path, result: RunResult, pictures: dict[str, Path]) -> Path:
    """Write index.html (figures linked relative to it); returns its path."""
    table = result.readouts.to_html(
        index=False, float_format=lambda v: f"{v:.2f}", na_rep="", border=0
    )
    comparisons = "".join(
        f"<li>{html.escape(c.text()).replace(chr(10), '<br>')}</li>" for c in result.comparisons
    )
    figures = "".join(
        f'<figure><img src="{html.escape(p.relative_to(path.parent).as_posix())}" '
        f'alt="{html.escape(TITLES.get(k, k))}"><figcaption>{html.escape(TITLES.get(k, k))}'
        "</figcaption></figure>"
        for k, p in pictures.items()
    )
    missing = ", ".join(result.missing_genes) or "none"
    n_cells = result.adata.n_obs
    n_patients = result.readouts["study_id"].nunique()
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>neurocart omics run</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
figure {{ display: inline-block; margin: 0 1rem 1.5rem 0; vertical-align: top; }}
img {{ max-width: 720px; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 0.85rem; }}
th, td {{ padding: 0.2rem 0.5rem; border-bottom: 1px solid #eee; text-align: right; }}
.caveat {{ background: #fff4d6; padding: 0.5rem 1rem; border-left: 4px solid #e0a800; }}
</style></head><body>
<h1>Single-cell readouts</h1>
<p>{n_cells} cells after quality control, {len(result.readouts)} samples, {n_patients} patients.
Panel genes not in the data: {html.escape(missing)}.</p>
<h2>Figures</h2>{figures}
<h2>Readouts per sample</h2>{table}
<h2>Across patients</h2>
<p class="caveat">Comparisons use one proportion per patient and sample; cells are never
treated as replicates.</p>
<ul>{comparisons or "<li>no paired samples to compare</li>"}</ul>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
