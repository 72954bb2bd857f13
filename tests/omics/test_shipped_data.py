"""Smoke tests on real data that ships inside the installed packages (nothing downloaded):
scanpy's `pbmc68k_reduced` (Zheng et al. 2017, 700 PBMCs with curated labels) and scirpy's
bundled test data (a 10x contig CSV, AIRR rearrangement TSVs, and `wu2020_200.h5mu`, 200
tumour-infiltrating T cells with TCRs from Wu TD et al. Nature 2020)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.omics.conftest import needs_extra

pytestmark = needs_extra


def _scirpy_data() -> Path:
    import scirpy

    path = Path(scirpy.__file__).parent / "tests" / "data"
    if not path.is_dir():
        pytest.skip("this scirpy release does not ship its test data")
    return path


def test_the_panel_recovers_curated_pbmc_labels() -> None:
    import scanpy as sc

    from neurocart.omics.annotate import annotate
    from neurocart.omics.panel import load_panel

    pbmc = sc.datasets.pbmc68k_reduced()
    adata = pbmc.raw.to_adata()  # log-normalized expression of 765 genes
    missing = annotate(adata, load_panel())
    assert "CD14" in missing  # reported, not fatal
    majority = adata.obs.groupby(pbmc.obs["bulk_labels"], observed=True)["lineage"].agg(
        lambda s: s.value_counts().index[0]
    )
    assert majority["CD14+ Monocyte"] == "myeloid"
    assert majority["CD19+ B"] == "B"
    assert majority["CD8+ Cytotoxic T"] == "T"
    assert majority["CD4+/CD45RO+ Memory"] == "T"
    assert majority["CD4+/CD25 T Reg"] == "T"


def test_readers_take_scirpy_contigs_in_both_formats() -> None:
    from neurocart.omics.readers import read_contigs

    data = _scirpy_data()
    tenx = read_contigs(data / "10x" / "filtered_contig_annotations.csv")
    airr = read_contigs(data / "airr" / "rearrangement_trb.tsv")
    assert tenx.n_obs > 0
    assert airr.n_obs > 0
    assert "airr" in tenx.obsm
    assert "airr" in airr.obsm


@pytest.mark.slow
def test_the_pipeline_runs_on_a_real_h5mu_with_tcrs(tmp_path: Path) -> None:
    from neurocart.omics import read_samplesheet
    from neurocart.omics.pipeline import EmbedConfig
    from neurocart.omics.run import run

    h5mu = _scirpy_data() / "wu2020_200.h5mu"
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f"sample_id,study_id,tissue,study_day,gex\nWU,WU-1,blood,7,{h5mu}\n")
    result = run(
        read_samplesheet(sheet), car_feature=None, embedding=EmbedConfig(umap=False, n_pcs=10)
    )
    row = result.readouts.iloc[0]
    assert row["n_cells"] > 100
    assert row["n_t_cells"] > 0.5 * row["n_cells"]  # tumour-infiltrating T cells
    assert row["car_pct_of_t"] == 0.0
    clones = result.adata.obs["clone_id"].dropna()
    assert len(clones) > 0.5 * row["n_t_cells"]  # cells in both modalities of the file
    # the 200-cell subsample keeps one cell per clone (its own clonotype_orig is all
    # singletons): no expanded clone, and as many clonotypes as cells with a TCR
    assert clones.nunique() == len(clones)
    assert row["expanded_clone_pct"] == 0.0


def test_a_matrix_that_is_not_counts_is_refused(tmp_path: Path) -> None:
    import scanpy as sc

    from neurocart.omics import OmicsInputError
    from neurocart.omics.readers import read_expression

    path = tmp_path / "scaled.h5ad"
    sc.datasets.pbmc68k_reduced().write_h5ad(path)
    with pytest.raises(OmicsInputError, match="not raw UMI counts"):
        read_expression(path)
    with pytest.raises(OmicsInputError, match="expected a 10x"):
        read_expression(tmp_path / "matrix.loom")
