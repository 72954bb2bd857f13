"""Cell-type annotation by the marker panel, and CAR-T phenotype scores.

Cell types: each cell's score for a type is the mean of its markers' log-normalized
expression (markers absent from the matrix are skipped and reported; a type with fewer than
half of its markers in the data is not called at all, since one shared marker — GNLY for NK
cells, also high in cytotoxic T cells — would then decide alone); the best-scoring type
names the cell, or ``unassigned`` when even the best is below the panel's ``min_score``. By
default every cell is named on its own (``by=None``); ``by="leiden"`` names whole clusters by
their mean scores, which smooths dropout noise in shallow data at the price of merging small
populations that fall in a larger cluster. One sparse matrix product: no per-cell loop.

Phenotype scores (proliferation, cytotoxicity, exhaustion, memory): scanpy's
`score_genes` (mean expression of the set minus that of expression-matched control genes,
after Satija R, Farrell JA, Gennert D, Schier AF, Regev A. Spatial reconstruction of single-
cell gene expression data. Nat Biotechnol 2015;33:495-502. doi:10.1038/nbt.3192), stored as
obs ``score_<name>``.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp  # type: ignore[import-untyped]

from neurocart.omics import errors as msg
from neurocart.omics.errors import OmicsInputError
from neurocart.omics.panel import UNASSIGNED, Panel

MIN_MARKERS_PRESENT = 0.5
"""A cell type is called only when at least this share of its markers is in the data."""


def marker_scores(adata: ad.AnnData, panel: Panel) -> tuple[pd.DataFrame, list[str]]:
    """Cells × cell types mean marker expression (X must be log-normalized); missing genes."""
    index = {g: i for i, g in enumerate(adata.var_names)}
    genes = [g for g in dict.fromkeys(m for c in panel.cell_types for m in c.markers) if g in index]
    missing = [g for c in panel.cell_types for g in c.markers if g not in index]
    column = {g: j for j, g in enumerate(genes)}
    weights = np.zeros((len(genes), len(panel.cell_types)), dtype=np.float32)
    for k, cell_type in enumerate(panel.cell_types):
        present = [g for g in cell_type.markers if g in column]
        if len(present) < MIN_MARKERS_PRESENT * len(cell_type.markers):
            continue  # too few of its markers measured to call it: never chosen
        for g in present:
            weights[column[g], k] = 1.0 / len(present)
    x = adata[:, genes].X if genes else sp.csr_matrix((adata.n_obs, 0), dtype=np.float32)
    scores = x @ weights
    scores = np.asarray(scores.toarray() if sp.issparse(scores) else scores)
    names = [c.name for c in panel.cell_types]
    return pd.DataFrame(scores, index=adata.obs_names, columns=names), list(dict.fromkeys(missing))


def annotate(adata: ad.AnnData, panel: Panel, by: str | None = None) -> list[str]:
    """Add obs ``cell_type`` and ``lineage`` in place; returns the panel genes not found."""
    if by is not None and by not in adata.obs:
        raise OmicsInputError("annotate_by", msg.NOT_A_COLUMN.format(value=repr(by)))
    scores, missing = marker_scores(adata, panel)
    if by is not None:
        groups = adata.obs[by]
        means = scores.groupby(groups.to_numpy(), observed=True).mean()
        best_group = means.idxmax(axis=1).where(means.max(axis=1) >= panel.min_score, UNASSIGNED)
        labels = groups.map(best_group).astype(str).to_numpy()
    else:
        values = scores.to_numpy()
        if values.shape[1] == 0:
            labels = np.full(adata.n_obs, UNASSIGNED, dtype=object)
        else:
            best = values.argmax(axis=1)
            labels = np.asarray(scores.columns, dtype=object)[best]
            labels[values.max(axis=1) < panel.min_score] = UNASSIGNED
    order = [c.name for c in panel.cell_types] + [UNASSIGNED]
    adata.obs["cell_type"] = pd.Categorical(labels, categories=order)
    lineage = panel.lineage_of()
    adata.obs["lineage"] = pd.Categorical(
        [lineage[str(v)] for v in labels],
        categories=list(dict.fromkeys([*lineage.values()])),
    )
    return missing


def phenotype_scores(adata: ad.AnnData, panel: Panel, seed: int = 0) -> list[str]:
    """Add obs ``score_<phenotype>`` in place (scanpy score_genes); returns sets skipped."""
    import scanpy as sc

    skipped = []
    for phenotype in panel.phenotypes:
        genes = [g for g in phenotype.genes if g in adata.var_names]
        if not genes:
            skipped.append(phenotype.name)
            continue
        sc.tl.score_genes(
            adata,
            genes,
            score_name=f"score_{phenotype.name}",
            ctrl_size=min(50, max(1, adata.n_vars - len(genes))),
            n_bins=min(25, max(1, adata.n_vars // 10)),
            random_state=seed,
        )
    return skipped
