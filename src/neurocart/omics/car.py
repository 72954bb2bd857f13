"""CAR detection: from the CAR transcript added to the reference, then along clonotypes.

The CAR construct is not in the human reference; a center adds its sequence to the Cell
Ranger reference as an extra feature (e.g. ``CAR`` or the product's name), so each cell gets
a UMI count of the CAR transcript. A cell is *CAR+ by transcript* when that count reaches
`min_umi` (default 2: one UMI is within ambient-RNA noise). Detection by transcript misses CAR
T cells whose CAR mRNA was not captured (dropout), so CAR status is then propagated to every
T cell of the same clonotype in the same patient: the CAR is integrated into the cell that the
TCR marks, so its clonal progeny carry it too. Propagation never reaches a sample taken before
the infusion (study day < 0) or a non-T cell, since clonal siblings that were never
transduced exist before the product is made.
"""

from __future__ import annotations

import anndata as ad
import numpy as np

from neurocart.omics import errors as msg
from neurocart.omics.errors import OmicsInputError


def detect_car(adata: ad.AnnData, feature: str = "CAR", min_umi: int = 2) -> int:
    """Add obs ``car_umi`` and ``car_transcript`` (count ≥ `min_umi`) in place; returns CAR+.

    Reads raw counts (``layers["counts"]`` when present). OmicsInputError naming
    ``car_feature`` when the feature is not in the matrix.
    """
    if feature not in adata.var_names:
        raise OmicsInputError("car_feature", msg.NOT_A_FEATURE.format(value=repr(feature)))
    if min_umi < 1:
        raise OmicsInputError("car_min_umi", msg.AT_LEAST_ONE)
    column = adata.var_names.get_loc(feature)
    source = adata.layers.get("counts", adata.X)
    values = source[:, column]
    values = np.asarray(values.toarray() if hasattr(values, "toarray") else values).ravel()
    adata.obs["car_umi"] = values.astype(np.int64)
    adata.obs["car_transcript"] = values >= min_umi
    adata.obs["car_positive"] = adata.obs["car_transcript"].to_numpy()
    adata.obs["car_source"] = np.where(adata.obs["car_transcript"], "transcript", "")
    return int(adata.obs["car_transcript"].sum())


def no_car(adata: ad.AnnData) -> None:
    """The CAR columns for data without a CAR feature: every cell CAR−."""
    adata.obs["car_umi"] = 0
    adata.obs["car_transcript"] = False
    adata.obs["car_positive"] = False
    adata.obs["car_source"] = ""


def propagate_car(
    adata: ad.AnnData, clone_key: str = "clone_id", lineage_key: str = "lineage"
) -> int:
    """Mark CAR+ every T cell sharing a clonotype with a CAR+-by-transcript T cell; in place.

    Needs obs ``car_transcript``, `clone_key` (ids unique per patient), `lineage_key`,
    ``study_day``. Returns the number of cells newly marked.
    """
    obs = adata.obs
    clone = obs[clone_key].astype("object")
    is_t = (obs[lineage_key] == "T").to_numpy()
    eligible = is_t & (obs["study_day"].to_numpy() >= 0) & clone.notna().to_numpy()
    seeds = set(clone[eligible & obs["car_transcript"].to_numpy(dtype=bool)])
    reached = eligible & clone.isin(seeds).to_numpy() & ~obs["car_transcript"].to_numpy(dtype=bool)
    obs["car_positive"] = obs["car_transcript"].to_numpy(dtype=bool) | reached
    source = np.where(obs["car_transcript"].to_numpy(dtype=bool), "transcript", "").astype(object)
    source[reached] = "clonotype"
    obs["car_source"] = source
    return int(reached.sum())
