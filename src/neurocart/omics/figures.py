"""The run's figures (matplotlib, PNG): UMAP by cell type and by CAR, B/plasma fractions
before vs after infusion, CAR+ % in CSF vs blood over study days, clonotype sharing. Their
titles, axis labels and legends are in the language of the command that draws them.

Each figure shows per-sample proportions per patient (one line or bar per patient), never
pooled cells: the unit a reader should compare is the patient.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurocart import plotfonts
from neurocart.i18n import N_
from neurocart.i18n import gettext as _

plotfonts.configure()

TISSUE_STYLE = {"blood": ("-", "o"), "csf": ("--", "s"), "product": (":", "^")}
DPI = 110
STUDY_DAY = N_("study day (0 = infusion)")


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def umap_cell_types(adata: ad.AnnData, path: Path) -> Path:
    """Plot the UMAP coloured by annotated cell type (counts in the legend) and save it."""
    xy = np.asarray(adata.obsm["X_umap"])
    types = adata.obs["cell_type"].astype("category")
    present = [c for c in types.cat.categories if (types == c).any()]
    colors = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(8.5, 6))
    for i, name in enumerate(present):
        mask = (types == name).to_numpy()
        ax.scatter(
            xy[mask, 0],
            xy[mask, 1],
            s=3,
            color=colors(i % 20),
            label=f"{name} ({mask.sum()})",
            rasterized=True,
        )
    ax.set(
        title=_("Cells by type (marker panel)"),
        xlabel="UMAP 1",
        ylabel="UMAP 2",
        xticks=[],
        yticks=[],
    )
    ax.legend(
        loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=4, fontsize=8, frameon=False
    )
    return _save(fig, path)


def umap_car(adata: ad.AnnData, path: Path) -> Path:
    """Plot the UMAP with CAR+ cells highlighted by how they were called (transcript or clonotype),
    and save it.
    """
    xy = np.asarray(adata.obsm["X_umap"])
    source = adata.obs["car_source"].astype(str).to_numpy()
    fig, ax = plt.subplots(figsize=(7.5, 6))
    neg = source == ""
    ax.scatter(
        xy[neg, 0], xy[neg, 1], s=2, color="#c8c8c8", label=f"CAR− ({neg.sum()})", rasterized=True
    )
    for value, color, label in (
        ("transcript", "#d62728", _("CAR+ by transcript")),
        ("clonotype", "#ff7f0e", _("CAR+ by clonotype")),
    ):
        mask = source == value
        ax.scatter(
            xy[mask, 0],
            xy[mask, 1],
            s=4,
            color=color,
            label=f"{label} ({mask.sum()})",
            rasterized=True,
        )
    ax.set(title=_("CAR+ cells"), xlabel="UMAP 1", ylabel="UMAP 2", xticks=[], yticks=[])
    ax.legend(loc="best", markerscale=4, fontsize=8)
    return _save(fig, path)


def b_plasma_fractions(readouts: pd.DataFrame, path: Path) -> Path:
    """B and plasma cells, % of leukocytes, over study days, per patient and tissue."""
    data = readouts[readouts["tissue"] != "product"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for ax, column, title in zip(
        axes,
        ("b_cell_pct", "plasma_cell_pct"),
        (N_("B cells"), N_("Plasmablasts + plasma cells")),
        strict=True,
    ):
        _lines(ax, data, column)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set(
            title=_("{cells}, {percent} of leukocytes").format(cells=_(title), percent="%"),
            xlabel=_(STUDY_DAY),
            ylabel="%",
        )
        ax.set_ylim(bottom=0)
    axes[1].legend(fontsize=8, loc="upper right")
    return _save(fig, path)


def car_csf_blood(readouts: pd.DataFrame, path: Path) -> Path:
    """Plot CAR+ cells as % of T cells over study days, CSF against blood, and save it."""
    data = readouts[readouts["tissue"].isin(["csf", "blood"])]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    _lines(ax, data, "car_pct_of_t")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(
        title=_("CAR+ cells, {percent} of T cells: CSF vs blood").format(percent="%"),
        xlabel=_(STUDY_DAY),
        ylabel=_("{percent} of T cells").format(percent="%"),
    )
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return _save(fig, path)


def clonotype_overlap(readouts: pd.DataFrame, path: Path) -> Path:
    """Per post-infusion CSF/blood sample: % of TCR+ T cells shared with blood / product."""
    data = readouts[(readouts["tissue"].isin(["csf", "blood"])) & (readouts["study_day"] >= 0)]
    labels = [f"{r.study_id}\n{r.tissue} d{r.study_day}" for r in data.itertuples()]
    x = np.arange(len(data))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(data) + 2), 4.5))
    ax.bar(
        x - 0.2,
        data["csf_blood_overlap_pct"].fillna(0),
        0.4,
        label=_("CSF clones found in blood (same day)"),
        color="#1f77b4",
    )
    ax.bar(
        x + 0.2,
        data["product_overlap_pct"].fillna(0),
        0.4,
        label=_("clones found in the infusion product"),
        color="#d62728",
    )
    ax.set_xticks(x, labels, fontsize=7)
    ax.set(
        title=_("Clonotype sharing, {percent} of T cells with a TCR").format(percent="%"),
        ylabel="%",
    )
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, path)


def _lines(ax: Axes, data: pd.DataFrame, column: str) -> None:
    colors = plt.get_cmap("tab10")
    for i, (study_id, patient) in enumerate(data.groupby("study_id", sort=True)):
        for tissue, rows in patient.groupby("tissue"):
            style, marker = TISSUE_STYLE.get(str(tissue), ("-", "o"))
            rows = rows.sort_values("study_day")
            ax.plot(
                rows["study_day"],
                rows[column],
                linestyle=style,
                marker=marker,
                color=colors(i % 10),
                label=f"{study_id} {tissue}",
            )


def draw_all(adata: ad.AnnData, readouts: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Every figure under `folder`; name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "umap_cell_types": umap_cell_types(adata, folder / "umap_cell_types.png"),
        "umap_car": umap_car(adata, folder / "umap_car.png"),
        "b_plasma_fractions": b_plasma_fractions(readouts, folder / "b_plasma_fractions.png"),
        "car_csf_blood": car_csf_blood(readouts, folder / "car_csf_blood.png"),
        "clonotype_overlap": clonotype_overlap(readouts, folder / "clonotype_overlap.png"),
    }
