"""The whole pipeline on the seeded synthetic study recovers the designed readouts exactly:
CAR+ % of T cells (with the dropout cells found again through their clonotype), the B and
plasma cells that vanish after infusion, expanded clones and the CSF–blood and product
clonotype sharing; and writes the figures and the page."""

from __future__ import annotations

import numpy as np
import pytest

from neurocart.omics.readouts import COLUMNS
from tests.omics.conftest import needs_extra

pytestmark = [needs_extra, pytest.mark.slow]
NUMERIC = [c for c in COLUMNS if c not in ("sample_id", "study_id", "tissue")]


def test_readouts_equal_the_design_exactly(synthetic_run) -> None:  # type: ignore[no-untyped-def]
    dataset, result, _, _ = synthetic_run
    got = result.readouts.set_index("sample_id")[NUMERIC].astype(float)
    want = dataset.expected.set_index("sample_id").loc[got.index, NUMERIC].astype(float)
    assert list(got.index) == list(dataset.expected["sample_id"])
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-9, equal_nan=True)


def test_the_study_comes_in_every_format_the_readers_take(synthetic_run) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    dataset, _, _, _ = synthetic_run
    sheet = pd.read_csv(dataset.samplesheet)
    gex = {str(g).rsplit("/", 1)[-1] for g in sheet["gex"]}
    assert gex == {"filtered_feature_bc_matrix.h5", "filtered_feature_bc_matrix",
                   "counts.h5ad", "sample.h5mu"}  # fmt: skip
    contigs = {str(c).rsplit("/", 1)[-1] for c in sheet["contigs"]}
    assert contigs == {"filtered_contig_annotations.csv", "airr_rearrangement.tsv"}


def test_the_design_has_what_the_readouts_must_find(synthetic_run) -> None:  # type: ignore[no-untyped-def]
    dataset, result, _, _ = synthetic_run
    r = result.readouts.set_index("sample_id")
    truth = dataset.truth
    assert truth["dropout"].sum() > 0  # CAR cells without a CAR read exist ...
    assert (result.adata.obs["car_source"] == "clonotype").sum() == truth["dropout"].sum()
    assert r.loc["P01_blood_pre", "b_cell_pct"] > 15
    assert r.loc["P01_blood_d7", "b_cell_pct"] == 0
    assert r.loc["P01_blood_pre", "car_pct_of_t"] == 0
    assert r.loc["P01_csf_d7", "car_pct_of_t"] > 0
    assert r.loc["P01_csf_d7", "csf_blood_overlap_pct"] > 0
    assert sum(result.qc_removed[s]["removed"] for s in result.qc_removed) == truth["dying"].sum()


def test_annotation_matches_the_truth_cell_by_cell(synthetic_run) -> None:  # type: ignore[no-untyped-def]
    dataset, result, _, _ = synthetic_run
    obs = result.adata.obs
    truth = dataset.truth[~dataset.truth["dying"]].copy()
    truth.index = truth["sample_id"] + "_" + truth["barcode"]
    assert (obs["cell_type"].astype(str) == truth.loc[obs.index, "cell_type"]).all()
    assert (obs["car_positive"].astype(bool) == truth.loc[obs.index, "car"]).all()


def test_car_cells_score_higher_for_proliferation_and_cytotoxicity(synthetic_run) -> None:  # type: ignore[no-untyped-def]
    _, result, _, _ = synthetic_run
    obs = result.adata.obs
    t = obs[obs["lineage"] == "T"]
    car, other = t[t["car_positive"].astype(bool)], t[~t["car_positive"].astype(bool)]
    for score in ("score_proliferation", "score_cytotoxicity"):
        assert car[score].mean() > other[score].mean() + 0.5
    assert other["score_memory"].mean() > car["score_memory"].mean()
    assert {"score_exhaustion", "leiden"} <= set(obs.columns)
    assert "X_umap" in result.adata.obsm


def test_outputs_are_written(synthetic_run) -> None:  # type: ignore[no-untyped-def]
    _, _, steps, out = synthetic_run
    from neurocart.omics.run import STEPS

    assert steps == list(STEPS)
    for name in ("readouts.csv", "comparisons.txt", "cells.h5ad", "index.html"):
        assert (out / name).is_file()
    pictures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pictures == ["b_plasma_fractions.png", "car_csf_blood.png", "clonotype_overlap.png",
                        "umap_car.png", "umap_cell_types.png"]  # fmt: skip
    page = (out / "index.html").read_text()
    assert page.count("<img ") == 5
    assert "never" in page
    assert "only 3 patient(s)" in page
    from matplotlib.image import imread

    for png in (out / "figures").glob("*.png"):
        pixels = imread(png)
        assert pixels.std() > 0.05, png.name  # not blank


def test_summarize_reads_the_run_back(synthetic_run) -> None:  # type: ignore[no-untyped-def]
    _, result, _, out = synthetic_run
    from neurocart.omics.summary import summarize

    summary = summarize(out / "cells.h5ad")
    assert not summary.analysed
    got = summary.readouts.set_index("sample_id")
    want = result.readouts.set_index("sample_id")
    for column in ("n_cells", "car_pct_of_t", "b_cell_pct", "expanded_clone_pct"):
        np.testing.assert_allclose(
            got[column].astype(float), want[column].astype(float), equal_nan=True
        )
