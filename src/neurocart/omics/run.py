"""One call from a sample sheet to readouts, figures and a page: what `neurocart omics run` does.

    result = run(read_samplesheet("samples.csv"), out="results/")

Steps (each also callable on its own): read every sample → concatenate → per-sample QC →
CAR transcript detection → normalize → embed (HVG, PCA, neighbours, Leiden, UMAP) → annotate
by the panel → phenotype scores → clonotypes per patient → CAR propagation along clonotypes →
per-sample readouts → comparisons across patients → figures and page. `progress` is called
with the name of each step as it starts (the CLI drives its progress bar with it).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import pandas as pd

from neurocart.omics.annotate import annotate, phenotype_scores
from neurocart.omics.car import detect_car, no_car, propagate_car
from neurocart.omics.clonotypes import define_clonotypes
from neurocart.omics.panel import Panel, load_panel
from neurocart.omics.pipeline import EmbedConfig, embed, normalize
from neurocart.omics.qc import QCConfig, quality_control
from neurocart.omics.readers import read_sample
from neurocart.omics.readouts import Comparison, compare_patients, sample_readouts
from neurocart.omics.samplesheet import SampleSheet

STEPS = (
    "read", "quality control", "CAR detection", "normalize", "embed", "annotate",
    "phenotype scores", "clonotypes", "readouts", "figures",
)  # fmt: skip


@dataclass
class RunResult:
    """What a run produced: the annotated cells, per-sample readouts, comparisons, files."""

    adata: ad.AnnData
    readouts: pd.DataFrame
    comparisons: list[Comparison]
    qc_removed: dict[str, dict[str, int]]
    missing_genes: list[str]
    files: dict[str, Path] = field(default_factory=dict)


def run(
    sheet: SampleSheet,
    *,
    out: str | Path | None = None,
    panel: Panel | str | Path | None = None,
    car_feature: str | None = "CAR",
    car_min_umi: int = 2,
    qc: QCConfig | None = None,
    embedding: EmbedConfig | None = None,
    annotate_by: str | None = None,
    figures: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Analyse every sample of `sheet`; write results under `out` when given.

    `car_feature` None: the data has no CAR transcript (a reference without the construct);
    every cell is then CAR− and only the other readouts mean anything.
    """
    step = progress or (lambda _name: None)
    panel = panel if isinstance(panel, Panel) else load_panel(panel)
    step("read")
    samples = [read_sample(s) for s in sheet]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata = ad.concat([s.gex for s in samples], join="outer", merge="same", fill_value=0)
    adata.obs["study_day"] = adata.obs["study_day"].astype(int)
    step("quality control")
    qc = qc or QCConfig()
    removed: dict[str, dict[str, int]] = {}
    before = adata.obs["sample_id"].value_counts()
    quality_control(adata, qc)
    after = adata.obs["sample_id"].value_counts()
    for sample in sheet:
        removed[sample.sample_id] = {
            "removed": int(before.get(sample.sample_id, 0) - after.get(sample.sample_id, 0))
        }
    step("CAR detection")
    if car_feature is None:
        no_car(adata)
    else:
        detect_car(adata, car_feature, car_min_umi)
    step("normalize")
    normalize(adata)
    step("embed")
    embed(adata, embedding, exclude=() if car_feature is None else (car_feature,))
    step("annotate")
    missing = annotate(adata, panel, by=annotate_by)
    step("phenotype scores")
    phenotype_scores(adata, panel, seed=(embedding or EmbedConfig()).seed)
    step("clonotypes")
    define_clonotypes(adata, samples)
    propagate_car(adata)
    step("readouts")
    readouts = sample_readouts(adata.obs)
    comparisons = compare_patients(readouts)
    result = RunResult(adata, readouts, comparisons, removed, missing)
    if out is not None:
        step("figures")
        write_outputs(result, Path(out), figures=figures)
    return result


def write_outputs(result: RunResult, out: Path, *, figures: bool = True) -> None:
    """readouts.csv, comparisons.txt, cells.h5ad, figures/*.png and index.html under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    files = result.files
    files["readouts"] = out / "readouts.csv"
    result.readouts.to_csv(files["readouts"], index=False)
    files["comparisons"] = out / "comparisons.txt"
    files["comparisons"].write_text(
        "\n".join(c.text() for c in result.comparisons) + "\n", encoding="utf-8"
    )
    files["cells"] = out / "cells.h5ad"
    adata = result.adata
    for column in ("clone_id", "receptor_type", "car_source"):
        adata.obs[column] = adata.obs[column].astype("string")
    adata.write_h5ad(files["cells"])
    if figures:
        from neurocart.omics.figures import draw_all
        from neurocart.omics.page import write_page

        pictures = draw_all(result.adata, result.readouts, out / "figures")
        files.update({f"figure:{k}": v for k, v in pictures.items()})
        files["page"] = write_page(out / "index.html", result, pictures)
