"""One sample in one h5ad: what `neurocart omics summarize FILE.h5ad` prints.

A file written by `neurocart omics run` (obs already has ``cell_type``, ``car_positive``) is
summarized as it is. Any other h5ad must hold raw counts (in X or ``layers["counts"]``); it is
then quality-controlled, checked for the CAR transcript, normalized and annotated by the panel
(no embedding: none is needed to count), and its receptors (``obsm["airr"]``), when present,
get clonotypes. A file holding several samples (``sample_id`` in obs) gets one row each.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import pandas as pd

from neurocart.omics import errors as msg
from neurocart.omics.annotate import annotate
from neurocart.omics.car import detect_car, no_car, propagate_car
from neurocart.omics.errors import OmicsInputError
from neurocart.omics.panel import Panel, load_panel
from neurocart.omics.pipeline import normalize
from neurocart.omics.qc import QCConfig, quality_control
from neurocart.omics.readers import read_expression
from neurocart.omics.readouts import sample_readouts
from neurocart.omics.samplesheet import NOT_A_TISSUE, Tissue


@dataclass
class Summary:
    """Readouts and cell-type composition of one .h5ad file."""

    readouts: pd.DataFrame
    composition: pd.DataFrame
    """Per sample and cell type: cells and % of the sample."""
    analysed: bool
    """True when this call annotated the cells; False for a file `omics run` wrote."""


def summarize(
    path: str | Path,
    *,
    panel: Panel | str | Path | None = None,
    car_feature: str | None = "CAR",
    car_min_umi: int = 2,
    tissue: str = "blood",
    study_day: int = 0,
) -> Summary:
    """Summarize one .h5ad file, annotating its cells with the panel when they are not annotated
    yet.
    """
    path = Path(path)
    if tissue not in {t.value for t in Tissue}:
        raise OmicsInputError("tissue", NOT_A_TISSUE.format(value=repr(tissue)))
    if not path.is_file() or not path.name.lower().endswith(".h5ad"):
        raise OmicsInputError("file", msg.NOT_H5AD.format(path=path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head = ad.read_h5ad(path, backed="r")
        done = {"cell_type", "lineage", "car_positive"} <= set(head.obs.columns)
        head.file.close()
    if done:
        adata = ad.read_h5ad(path)
        analysed = False
    else:
        adata = _analyse(path, panel, car_feature, car_min_umi, tissue, study_day)
        analysed = True
    obs = adata.obs.copy()
    for column, default in (
        ("sample_id", path.stem),
        ("study_id", ""),
        ("tissue", tissue),
        ("study_day", study_day),
    ):
        if column not in obs:
            obs[column] = default
    for column in ("clone_id", "receptor_type"):
        if column not in obs:
            obs[column] = None
    obs["clone_id"] = obs["clone_id"].astype("object").where(obs["clone_id"].notna(), None)
    readouts = sample_readouts(obs)
    composition = (
        obs.groupby(["sample_id", "cell_type"], observed=True).size().rename("cells").reset_index()
    )
    composition["pct"] = (
        100.0
        * composition["cells"]
        / composition.groupby("sample_id", observed=True)["cells"].transform("sum")
    )
    return Summary(readouts, composition, analysed)


def _analyse(
    path: Path, panel: Panel | str | Path | None, car_feature: str | None, car_min_umi: int,
    tissue: str, study_day: int,
) -> ad.AnnData:  # fmt: skip
    adata, airr = read_expression(path)
    panel = panel if isinstance(panel, Panel) else load_panel(panel)
    if "sample_id" not in adata.obs:
        adata.obs["sample_id"] = path.stem
    adata.obs["study_id"] = adata.obs.get("study_id", "")
    adata.obs["tissue"] = tissue
    adata.obs["study_day"] = study_day
    quality_control(adata, QCConfig())
    if car_feature is not None and car_feature in adata.var_names:
        detect_car(adata, car_feature, car_min_umi)
    else:
        no_car(adata)
    normalize(adata)
    annotate(adata, panel)
    if airr is not None:
        _clonotypes(adata, airr)
        propagate_car(adata)
    return adata


def _clonotypes(adata: ad.AnnData, airr: ad.AnnData) -> None:
    import scirpy as ir

    airr = airr[airr.obs_names.isin(adata.obs_names)].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ir.pp.index_chains(airr)
        ir.tl.chain_qc(airr)
        ir.pp.ir_dist(airr, metric="identity", sequence="nt")
        ir.tl.define_clonotypes(airr, receptor_arms="all", dual_ir="primary_only")
    clone = airr.obs["clone_id"].astype("object").reindex(adata.obs_names)
    adata.obs["clone_id"] = clone.where(clone.notna(), None).to_numpy()
    adata.obs["receptor_type"] = (
        airr.obs["receptor_type"].astype(str).reindex(adata.obs_names).fillna("no IR").to_numpy()
    )
