"""Clonotypes with scirpy, defined per patient so one clone has one id in every compartment.

For each patient the receptors of all samples (CSF, blood, product, every day) are put
together and scirpy defines clonotypes on them (identical CDR3 nucleotide sequences of the
primary chains, both arms: `scirpy.pp.ir_dist` + `scirpy.tl.define_clonotypes`; Sturm G,
Szabo T, Fotakis G, et al. Scirpy: a Scanpy extension for analyzing single-cell T-cell
receptor-sequencing data. Bioinformatics 2020;36:4817-4818. doi:10.1093/bioinformatics/
btaa611). Ids are prefixed with the study ID, so clones of different patients never merge.
The ids are written back to the expression object: obs ``clone_id`` (NaN for a cell without
a receptor) and ``receptor_type`` (TCR, BCR, ambiguous, multichain, no IR).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import anndata as ad
import pandas as pd

from neurocart.omics.readers import SampleData


def define_clonotypes(adata: ad.AnnData, samples: Sequence[SampleData]) -> int:
    """Add obs ``clone_id`` and ``receptor_type`` to `adata` in place; returns the clone count."""
    import scirpy as ir

    clone: dict[str, str] = {}
    receptor = pd.Series("no IR", index=adata.obs_names, dtype="object")
    by_patient: dict[str, list[ad.AnnData]] = {}
    for data in samples:
        if data.airr is not None:
            by_patient.setdefault(data.sample.study_id, []).append(data.airr)
    n_clones = 0
    for study_id, parts in by_patient.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            airr = ad.concat(parts) if len(parts) > 1 else parts[0].copy()
            airr = airr[airr.obs_names.isin(adata.obs_names)].copy()
            if airr.n_obs == 0:
                continue
            ir.pp.index_chains(airr)
            ir.tl.chain_qc(airr)
            ir.pp.ir_dist(airr, metric="identity", sequence="nt")
            ir.tl.define_clonotypes(airr, receptor_arms="all", dual_ir="primary_only")
        ids = airr.obs["clone_id"].astype("object")
        has = ids.notna() & (ids.astype(str) != "nan")
        clone.update({str(cell): f"{study_id}:{v}" for cell, v in ids[has].items()})
        receptor[airr.obs_names] = airr.obs["receptor_type"].astype(str).to_numpy()
        n_clones += int(ids[has].nunique())
    adata.obs["clone_id"] = pd.Series(clone, dtype="object").reindex(adata.obs_names).to_numpy()
    adata.obs["receptor_type"] = receptor.to_numpy()
    return n_clones
