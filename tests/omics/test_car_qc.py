"""CAR detection (threshold), propagation along clonotypes (never before infusion, never to
non-T cells), and per-sample MAD quality control, on hand-made AnnData objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from neurocart.omics import OmicsInputError
from tests.omics.conftest import needs_extra

pytestmark = needs_extra


def _adata(car_umi: list[int], **obs: list[object]):  # type: ignore[no-untyped-def]
    import anndata as ad

    n = len(car_umi)
    x = sp.csr_matrix(np.column_stack([np.full(n, 5.0), np.asarray(car_umi, dtype=float)]))
    return ad.AnnData(X=x, obs=pd.DataFrame(obs, index=[f"c{i}" for i in range(n)]),
                      var=pd.DataFrame(index=["CD3E", "CAR"]))  # fmt: skip


def test_the_umi_threshold_decides_car_by_transcript() -> None:
    from neurocart.omics.car import detect_car

    adata = _adata([0, 1, 2, 9])
    assert detect_car(adata, "CAR", min_umi=2) == 2
    assert adata.obs["car_transcript"].tolist() == [False, False, True, True]
    assert adata.obs["car_umi"].tolist() == [0, 1, 2, 9]
    assert detect_car(adata, "CAR", min_umi=1) == 3
    with pytest.raises(OmicsInputError, match="car_feature"):
        detect_car(adata, "BCMA-CAR")
    with pytest.raises(OmicsInputError, match="car_min_umi"):
        detect_car(adata, "CAR", min_umi=0)


def test_propagation_follows_the_clonotype_within_its_limits() -> None:
    from neurocart.omics.car import detect_car, propagate_car

    adata = _adata(
        [5, 0, 0, 0, 0, 0],
        clone_id=["k1", "k1", "k1", "k1", None, "e1"],
        lineage=["T", "T", "T", "B", "T", "T"],
        study_day=[7, 28, -5, 7, 7, 7],
    )
    detect_car(adata, "CAR")
    assert propagate_car(adata) == 1
    # the clone mate on day 28 is reached; the baseline mate, the B cell, the cell without a
    # receptor and the other clone are not
    assert adata.obs["car_positive"].tolist() == [True, True, False, False, False, False]
    assert adata.obs["car_source"].tolist() == ["transcript", "clonotype", "", "", "", ""]


def test_qc_removes_outliers_per_sample_only() -> None:
    import anndata as ad

    from neurocart.omics.qc import QCConfig, quality_control

    rng = np.random.default_rng(0)
    n_genes, n = 200, 120
    genes = [f"G{i}" for i in range(n_genes - 5)] + [f"MT-{i}" for i in range(5)]
    rate = np.r_[rng.gamma(1.0, 1.0, n_genes - 5), np.full(5, 0.2)]
    size = np.exp(np.clip(rng.normal(0, 0.2, n), -0.25, 0.25))[:, None]
    x = rng.poisson(rate * size, (n, n_genes)).astype(np.float32)
    x[0, -5:] = 400.0  # mostly mitochondrial: dying
    x[1, :] = 0.0
    x[1, :10] = 1.0  # nearly empty droplet
    samples = ["a"] * 60 + ["b"] * 60
    x[60:] = rng.poisson(rate * size[60:] * 3)  # deeper library in b: not outliers of a
    obs = pd.DataFrame({"sample_id": samples}, index=[f"c{i}" for i in range(n)])
    adata = ad.AnnData(sp.csr_matrix(x), obs=obs, var=pd.DataFrame(index=genes))
    removed = quality_control(adata, QCConfig())
    assert adata.n_obs == n - 2
    assert "c0" not in adata.obs_names
    assert "c1" not in adata.obs_names
    assert removed["counts_or_genes"] >= 1
    assert sum(removed.values()) == 2


@pytest.mark.slow
def test_doublets_made_of_two_cell_types_score_high(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import anndata as ad

    from neurocart.omics import read_samplesheet
    from neurocart.omics.qc import QCConfig, quality_control
    from neurocart.omics.readers import read_sample
    from neurocart.omics.synthetic import write_dataset

    dataset = write_dataset(tmp_path, patients=1, scale=1.0, seed=2)
    sample = next(s for s in read_samplesheet(dataset.samplesheet) if s.sample_id.endswith("pre"))
    adata = read_sample(sample).gex
    truth = dataset.truth.set_index(dataset.truth["sample_id"] + "_" + dataset.truth["barcode"])
    kinds = truth.loc[adata.obs_names, "cell_type"].to_numpy()
    t, mono = np.flatnonzero(kinds == "CD4 T")[:15], np.flatnonzero(kinds == "monocyte")[:15]
    x = adata.X[t] + adata.X[mono]
    fake = ad.AnnData(x, obs=pd.DataFrame({"sample_id": sample.sample_id},
                                          index=[f"dbl{i}" for i in range(len(t))]),
                      var=adata.var)  # fmt: skip
    both = ad.concat([adata, fake], merge="same")
    quality_control(both, QCConfig(doublets=True, mt_max_pct=100, mt_floor_pct=100, n_mads=100))
    score = both.obs["doublet_score"]
    is_fake = both.obs_names.str.startswith("dbl")
    assert score[is_fake].median() > score[~is_fake].quantile(0.9)


def test_annotating_by_a_missing_column_names_it() -> None:
    from neurocart.omics.annotate import annotate
    from neurocart.omics.panel import load_panel

    with pytest.raises(OmicsInputError, match="annotate_by"):
        annotate(_adata([0, 1]), load_panel(), by="leiden")


@pytest.mark.slow
def test_the_embedding_runs_past_the_exact_neighbour_limit() -> None:
    """From 8,192 cells scanpy finds euclidean neighbours with pynndescent and reads its graph
    as a sparse matrix (a pynndescent returning scipy's sparse arrays broke this at real
    sizes)."""
    import anndata as ad

    from neurocart.omics.pipeline import EmbedConfig, embed

    rng = np.random.default_rng(0)
    n = 8300
    group = rng.integers(0, 3, n)
    x = rng.poisson(1.0 + 4.0 * (group[:, None] == np.arange(60)[None, :] % 3), (n, 60))
    adata = ad.AnnData(np.log1p(x).astype(np.float32),
                       var=pd.DataFrame(index=[f"G{i}" for i in range(60)]))  # fmt: skip
    embed(adata, EmbedConfig(n_top_genes=40, n_pcs=10, umap=False))
    assert adata.obsp["distances"].shape == (n, n)
    assert adata.obs["leiden"].nunique() >= 3
