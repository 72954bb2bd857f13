"""Reading what centers have: Cell Ranger matrices (h5 or mtx folder), h5ad, h5mu, and
TCR/BCR contigs (10x ``filtered_contig_annotations.csv`` or AIRR rearrangement TSV).

`read_sample` returns the sample's gene-expression AnnData with raw UMI counts in ``X`` (and
a copy in ``layers["counts"]``), cell barcodes prefixed by the sample ID (``S01_AAAC...-1``)
so samples concatenate without collisions, the sample's metadata in ``obs``, and — when the
sample has contigs — a second AnnData of its immune receptors (scirpy's ``obsm["airr"]``)
with the same prefixed barcodes. Receptors are kept apart until clonotypes are defined for
the whole patient (`neurocart.omics.clonotypes`), so one clone has one id in CSF, blood and
the product.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from neurocart.omics import errors as msg
from neurocart.omics.errors import OmicsInputError
from neurocart.omics.samplesheet import Sample

AIRR_KEY = "airr"
GEX_MODALITIES = ("gex", "rna", "RNA")


@dataclass
class SampleData:
    """One sample as read: expression (raw counts) and its receptors, if any."""

    sample: Sample
    gex: ad.AnnData
    airr: ad.AnnData | None


def read_sample(sample: Sample) -> SampleData:
    """Read one sample's files; OmicsInputError naming ``gex`` or ``contigs`` if unusable."""
    gex, airr = read_expression(sample.gex)
    if sample.contigs is not None:
        airr = read_contigs(sample.contigs)
    prefix = f"{sample.sample_id}_"
    gex.obs_names = [prefix + b for b in gex.obs_names]
    gex.obs["sample_id"] = sample.sample_id
    gex.obs["study_id"] = sample.study_id
    gex.obs["tissue"] = sample.tissue.value
    gex.obs["study_day"] = sample.study_day
    if airr is not None:
        airr.obs_names = [prefix + b for b in airr.obs_names]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # anndata: awkward arrays are "experimental"
            airr = airr[airr.obs_names.isin(gex.obs_names)].copy()
        if airr.n_obs == 0:
            raise OmicsInputError(f"{sample.sample_id}: contigs", msg.NO_CONTIG_MATCH)
    return SampleData(sample, gex, airr)


def read_expression(path: Path) -> tuple[ad.AnnData, ad.AnnData | None]:
    """Raw-count expression from a 10x h5, 10x mtx folder, h5ad or h5mu (+ AIRR if inside)."""
    import scanpy as sc

    name = path.name.lower()
    airr: ad.AnnData | None = None
    try:
        if path.is_dir():
            adata = sc.read_10x_mtx(path, var_names="gene_symbols", cache=False)
        elif name.endswith(".h5ad"):
            adata = ad.read_h5ad(path)
            if AIRR_KEY in adata.obsm:
                airr = ad.AnnData(obs=adata.obs[[]].copy(), obsm={AIRR_KEY: adata.obsm[AIRR_KEY]})
                del adata.obsm[AIRR_KEY]
        elif name.endswith(".h5mu"):
            adata, airr = _read_h5mu(path)
        elif name.endswith(".h5"):
            adata = sc.read_10x_h5(path)
        else:
            raise OmicsInputError("gex", msg.NOT_A_MATRIX_FILE.format(name=path.name))
    except OmicsInputError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise OmicsInputError("gex", msg.CANNOT_READ.format(path=path, error=exc)) from None
    adata.var_names_make_unique()
    _to_counts(adata, path)
    return adata, airr


def _read_h5mu(path: Path) -> tuple[ad.AnnData, ad.AnnData | None]:
    import mudata as md

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = md.read_h5mu(path)
    gex_key = next((k for k in GEX_MODALITIES if k in mdata.mod), None)
    if gex_key is None:
        raise OmicsInputError("gex", msg.NO_GEX_MODALITY.format(name=path.name))
    airr = mdata.mod.get(AIRR_KEY)
    return mdata.mod[gex_key].copy(), None if airr is None else airr.copy()


def _to_counts(adata: ad.AnnData, path: Path) -> None:
    """Put raw UMI counts in X (from layers["counts"] when X was normalized), CSR float32."""
    if "counts" in adata.layers:
        adata.X = adata.layers["counts"]
    x = adata.X
    if x is None:
        raise OmicsInputError("gex", msg.NO_MATRIX.format(name=path.name))
    x = sp.csr_matrix(x, dtype=np.float32)
    values = x.data
    if values.size and (values.min() < 0 or not np.all(np.equal(np.mod(values, 1), 0))):
        raise OmicsInputError("gex", msg.NOT_COUNTS.format(name=path.name))
    adata.X = x
    adata.layers["counts"] = x.copy()


def read_contigs(path: Path) -> ad.AnnData:
    """TCR/BCR contigs: 10x ``*_contig_annotations.csv``/``.json`` or AIRR rearrangement TSV."""
    import scirpy as ir

    name = path.name.lower()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name.endswith((".csv", ".csv.gz", ".json")):
                return ir.io.read_10x_vdj(path)
            if name.endswith((".tsv", ".tsv.gz")):
                return ir.io.read_airr(path)
    except (OSError, KeyError, ValueError) as exc:
        raise OmicsInputError("contigs", msg.CANNOT_READ.format(path=path, error=exc)) from None
    raise OmicsInputError("contigs", msg.NOT_CONTIGS.format(name=path.name))
