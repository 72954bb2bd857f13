"""The analysis steps as thin wrappers around scanpy, each changing the AnnData in place.

normalize (library size 10⁴, log1p; counts stay in ``layers["counts"]``) → highly variable
genes (the CAR feature and mitochondrial genes are never among them, so the embedding is of
cell state, not of transduction) → PCA → neighbours → Leiden (Traag VA, Waltman L, van Eck
NJ. From Louvain to Leiden: guaranteeing well-connected communities. Sci Rep 2019;9:5233.
doi:10.1038/s41598-019-41695-z) → UMAP. scanpy: Wolf FA, Angerer P, Theis FJ. SCANPY: large-
scale single-cell gene expression data analysis. Genome Biol 2018;19:15.
doi:10.1186/s13059-017-1382-0.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np


@dataclass(frozen=True, slots=True)
class EmbedConfig:
    """Settings for the embedding step: highly variable genes, PCA, neighbours, Leiden clustering
    and UMAP.
    """

    n_top_genes: int = 2000
    n_pcs: int = 30
    n_neighbors: int = 15
    leiden_resolution: float = 1.0
    seed: int = 0
    umap: bool = True


def normalize(adata: ad.AnnData, target_sum: float = 1e4) -> None:
    """Library-size normalize and log1p in place (raw counts kept in layers["counts"])."""
    import scanpy as sc

    if "counts" not in adata.layers:
        adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=target_sum)
    sc.pp.log1p(adata)


def embed(
    adata: ad.AnnData, config: EmbedConfig | None = None, exclude: tuple[str, ...] = ()
) -> None:
    """HVG → PCA → neighbours → Leiden → UMAP, in place; `exclude` features never HVG."""
    import scanpy as sc

    config = config or EmbedConfig()
    n_top = max(2, min(config.n_top_genes, adata.n_vars - 1))
    sc.pp.highly_variable_genes(adata, n_top_genes=n_top, flavor="seurat")
    hvg = adata.var["highly_variable"].to_numpy(dtype=bool)
    blocked = adata.var_names.isin(list(exclude))
    if "mt" in adata.var:
        blocked |= adata.var["mt"].to_numpy(dtype=bool)
    adata.var["highly_variable"] = hvg & ~blocked
    n_pcs = max(2, min(config.n_pcs, int(adata.var["highly_variable"].sum()) - 1, adata.n_obs - 1))
    sc.pp.pca(adata, n_comps=n_pcs, mask_var="highly_variable", random_state=config.seed)
    sc.pp.neighbors(
        adata,
        n_neighbors=min(config.n_neighbors, adata.n_obs - 1),
        n_pcs=n_pcs,
        random_state=config.seed,
    )
    sc.tl.leiden(
        adata,
        resolution=config.leiden_resolution,
        flavor="igraph",
        n_iterations=2,
        directed=False,
        random_state=config.seed,
    )
    if config.umap:
        sc.tl.umap(adata, random_state=config.seed)
    else:
        adata.obsm["X_umap"] = np.asarray(adata.obsm["X_pca"][:, :2])
