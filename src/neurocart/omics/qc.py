"""Per-sample quality control with thresholds from the sample itself (median ± k MAD).

Why per sample and MAD-based: library size and mitochondrial fraction differ between a CSF
sample of a few hundred cells and a blood sample of thousands, so a fixed cut-off removes
good CSF cells or keeps bad blood cells; a cell is an outlier when it lies more than `n_mads`
median absolute deviations from its own sample's median (Heumos L, Schaar AC, Lance C, et al.
Best practices for single-cell analysis across modalities. Nat Rev Genet 2023;24:550-572.
doi:10.1038/s41576-023-00586-w — 5 MADs on log counts and genes).

Mitochondrial fraction: a cell is removed when its share of mitochondrial reads is above
median + `n_mads_mt` MAD *and* above `mt_floor_pct` (so the tight spread of a clean sample
never turns ordinary cells into outliers), or above `mt_max_pct` whatever the sample.

Doublets (optional): scanpy's Scrublet (Wolock SL, Lopez R, Klein AM. Scrublet:
computational identification of cell doublets in single-cell transcriptomic data. Cell Syst
2019;8:281-291. doi:10.1016/j.cels.2018.11.005), run per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np


@dataclass(frozen=True, slots=True)
class QCConfig:
    """Cell QC thresholds: MAD-based outlier limits, mitochondrial limits, minimum genes and
    optional doublet removal.
    """

    n_mads: float = 5.0
    n_mads_mt: float = 3.0
    mt_floor_pct: float = 10.0
    mt_max_pct: float = 30.0
    mt_prefix: str = "MT-"
    min_genes: int = 20
    doublets: bool = False
    doublet_threshold: float = 0.25
    """Scrublet score above which a cell is a doublet (fixed: the automatic threshold needs
    scikit-image, which the extra does not bring; read the score histogram to adjust)."""
    seed: int = 0


def mad_outlier(values: np.ndarray, n_mads: float) -> np.ndarray:
    """True where `values` lie more than `n_mads` MADs from their median (MAD unscaled).

    >>> mad_outlier(np.array([1.0, 2.0, 2.0, 3.0, 50.0]), 5).tolist()
    [False, False, False, False, True]
    """
    median = np.median(values)
    mad = np.median(np.abs(values - median))
    return np.asarray(np.abs(values - median) > n_mads * mad)


def quality_control(adata: ad.AnnData, config: QCConfig | None = None) -> dict[str, int]:
    """Flag and remove low-quality cells in place, per sample; returns counts removed by cause.

    Adds obs ``total_counts``, ``n_genes_by_counts``, ``pct_counts_mt``, ``qc_outlier``
    (and ``doublet_score`` when doublets are sought).
    """
    import scanpy as sc

    config = config or QCConfig()
    adata.var["mt"] = adata.var_names.str.upper().str.startswith(config.mt_prefix.upper())
    sc.pp.calculate_qc_metrics(adata, qc_vars=["mt"], percent_top=None, log1p=True, inplace=True)
    samples = (
        adata.obs["sample_id"].to_numpy() if "sample_id" in adata.obs else np.zeros(adata.n_obs)
    )
    counts_out = np.zeros(adata.n_obs, dtype=bool)
    mt_out = np.zeros(adata.n_obs, dtype=bool)
    for sample in np.unique(samples):
        idx = np.flatnonzero(samples == sample)
        obs = adata.obs.iloc[idx]
        counts_out[idx] = (
            mad_outlier(obs["log1p_total_counts"].to_numpy(), config.n_mads)
            | mad_outlier(obs["log1p_n_genes_by_counts"].to_numpy(), config.n_mads)
            | (obs["n_genes_by_counts"].to_numpy() < config.min_genes)
        )
        mt = obs["pct_counts_mt"].to_numpy()
        median = np.median(mt)
        mad = np.median(np.abs(mt - median))
        mt_out[idx] = ((mt > median + config.n_mads_mt * mad) & (mt > config.mt_floor_pct)) | (
            mt > config.mt_max_pct
        )
    doublet = np.zeros(adata.n_obs, dtype=bool)
    if config.doublets:
        sc.pp.scrublet(
            adata, batch_key="sample_id", threshold=config.doublet_threshold,
            random_state=config.seed,
        )  # fmt: skip
        doublet = adata.obs["predicted_doublet"].to_numpy(dtype=bool)
    outlier = counts_out | mt_out | doublet
    adata.obs["qc_outlier"] = outlier
    removed = {
        "counts_or_genes": int(counts_out.sum()),
        "mitochondrial": int((mt_out & ~counts_out).sum()),
        "doublets": int((doublet & ~counts_out & ~mt_out).sum()),
    }
    if outlier.any():
        adata._inplace_subset_obs(~outlier)
    return removed
