"""A seeded synthetic single-cell study whose readouts are known exactly, for tests, the docs
and the benchmark (nothing downloaded).

Each patient has six samples — blood before lymphodepletion (day -5), the infusion product
(day 0), blood and CSF on days 7 and 28 — written in every format the readers take (10x h5,
10x mtx folder, h5ad, h5mu; 10x contig CSV and AIRR TSV in turn) with a sample sheet. By design:

- known cell-type counts per sample, each type expressing its panel markers (Poisson counts
  around a truncated log-normal library size), so annotation is unambiguous;
- B cells and plasma cells present at baseline and (nearly) gone after the infusion;
- CAR+ T cells with the CAR transcript (≥ 2 UMI), some of them with none captured (dropout)
  but sharing their clonotype with detected CAR+ cells of the same patient, and ambient single
  CAR UMIs in CAR− cells (below the threshold);
- CAR clones made in the product and found again in blood and CSF; endogenous expanded clones
  shared between CSF and blood; a tenth of the other T cells without a TCR read;
- a few dying cells (half their reads mitochondrial) that quality control must remove.

`expected_readouts` computes the readouts from the design (the truth table), not from the
pipeline, so a test can require the pipeline to recover them exactly.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp  # type: ignore[import-untyped]

from neurocart.omics.panel import Panel, load_panel

# cell-type counts per sample kind (scaled by `scale`), and CAR+ T cells (+ per-patient step)
PLAN: dict[str, dict[str, int]] = {
    "blood_pre": {"CD4 T": 90, "CD8 T": 60, "Treg": 10, "NK": 30, "B naive": 40, "B memory": 20,
                  "plasmablast": 4, "plasma cell": 6, "monocyte": 80, "dendritic cell": 8,
                  "plasmacytoid dendritic cell": 2, "erythrocyte": 4},
    "product": {"CD4 T": 100, "CD8 T": 100},
    "blood_d7": {"CD4 T": 60, "CD8 T": 90, "Treg": 6, "NK": 20, "monocyte": 70,
                 "dendritic cell": 6, "plasmacytoid dendritic cell": 2, "erythrocyte": 3},
    "csf_d7": {"CD4 T": 80, "CD8 T": 50, "Treg": 5, "NK": 10, "B naive": 2, "plasma cell": 1,
               "monocyte": 15, "border-associated macrophage": 10, "dendritic cell": 5,
               "plasmacytoid dendritic cell": 2},
    "blood_d28": {"CD4 T": 80, "CD8 T": 60, "Treg": 8, "NK": 25, "B naive": 1, "monocyte": 75,
                  "dendritic cell": 6, "plasmacytoid dendritic cell": 2, "erythrocyte": 2},
    "csf_d28": {"CD4 T": 85, "CD8 T": 45, "Treg": 5, "NK": 8, "monocyte": 15,
                "border-associated macrophage": 12, "dendritic cell": 5,
                "plasmacytoid dendritic cell": 2},
}  # fmt: skip
SAMPLES = (  # kind, tissue, study day, CAR+ T cells, per-patient increment
    ("blood_pre", "blood", -5, 0, 0),
    ("product", "product", 0, 150, 0),
    ("blood_d7", "blood", 7, 60, 5),
    ("csf_d7", "csf", 7, 40, 5),
    ("blood_d28", "blood", 28, 15, 1),
    ("csf_d28", "csf", 28, 20, 1),
)
EXPANDED = {"blood_d7": 3, "csf_d7": 2, "blood_d28": 3, "csf_d28": 2}
"""Cells of each endogenous expanded (CSF↔blood-shared) clone per sample kind."""
N_EXPANDED_CLONES = 4
N_CAR_CLONES = 30
DYING_PER_SAMPLE = 3
CAR_DROPOUT = 0.1
LINEAGE_T = ("CD4 T", "CD8 T", "Treg")
_AMINO = "ACDEFGHIKLMNPQRSTVWY"
_CODON = dict(zip(_AMINO, ("GCT", "TGT", "GAT", "GAA", "TTT", "GGT", "CAT", "ATT", "AAA", "CTG",
                           "ATG", "AAT", "CCT", "CAG", "CGT", "AGC", "ACT", "GTG", "TGG", "TAT"),
                  strict=True))  # fmt: skip
_TRAV = ("TRAV1-2", "TRAV12-1", "TRAV21", "TRAV29/DV5", "TRAV8-4")
_TRBV = ("TRBV20-1", "TRBV7-9", "TRBV28", "TRBV5-1", "TRBV12-3")


@dataclass(frozen=True)
class SyntheticDataset:
    """A generated single-cell dataset with the known truth per cell and the readouts it should
    give, for testing the pipeline.
    """

    samplesheet: Path
    truth: pd.DataFrame
    """One row per cell: sample, barcode, cell_type, lineage, car, car_umi, clone, dying."""
    expected: pd.DataFrame
    """The readouts the design implies (`expected_readouts`)."""


def write_dataset(
    out: str | Path,
    *,
    patients: int = 3,
    seed: int = 0,
    scale: float = 1.0,
    n_background: int = 1000,
    car_feature: str = "CAR",
    panel: Panel | None = None,
) -> SyntheticDataset:
    """Write the study under `out` (one folder per sample + samplesheet.csv)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    panel = panel or load_panel()
    rng = np.random.default_rng(seed)
    genes = _genes(panel, n_background, car_feature)
    profiles = _profiles(panel, genes, rng)
    truth_parts, sheet = [], []
    for p in range(patients):
        study_id = f"SYN-{p + 1:03d}"
        cells = _patient_cells(study_id, p, scale, rng)
        for i, (kind, tissue, day, _, _) in enumerate(SAMPLES):
            sample_id = f"P{p + 1:02d}_{kind}"
            part = cells[cells["kind"] == kind].reset_index(drop=True)
            part = part.iloc[rng.permutation(len(part))].reset_index(drop=True)
            part["sample_id"] = sample_id
            part["barcode"] = _barcodes(len(part), rng)
            counts, car_umi = _counts(part, genes, profiles, panel, rng, car_feature)
            part["car_umi"] = car_umi
            folder = out / sample_id
            folder.mkdir(exist_ok=True)
            gex = _write_gex(folder, (p * len(SAMPLES) + i) % 4, counts, genes, part["barcode"])
            contigs = _write_contigs(folder, (p + i) % 2, part, rng)
            sheet.append(
                {
                    "sample_id": sample_id,
                    "study_id": study_id,
                    "tissue": tissue,
                    "study_day": day,
                    "gex": str(gex.relative_to(out)),
                    "contigs": "" if contigs is None else str(contigs.relative_to(out)),
                }
            )
            truth_parts.append(part)
    truth = pd.concat(truth_parts, ignore_index=True)
    path = out / "samplesheet.csv"
    pd.DataFrame(sheet).to_csv(path, index=False)
    return SyntheticDataset(path, truth, expected_readouts(truth))


def make_cells(
    *,
    patients: int = 3,
    seed: int = 0,
    scale: float = 1.0,
    n_background: int = 1000,
    car_feature: str = "CAR",
    panel: Panel | None = None,
) -> Any:
    """The same design as one in-memory AnnData of raw counts (no files, no receptors), as
    `read_sample` + concatenation would give; for the benchmark. Not the same cells as
    `write_dataset` with the same seed (writing the contigs draws random numbers too)."""
    import anndata as ad

    panel = panel or load_panel()
    rng = np.random.default_rng(seed)
    genes = _genes(panel, n_background, car_feature)
    profiles = _profiles(panel, genes, rng)
    blocks, obs = [], []
    for p in range(patients):
        study_id = f"SYN-{p + 1:03d}"
        cells = _patient_cells(study_id, p, scale, rng)
        for kind, tissue, day, _, _ in SAMPLES:
            sample_id = f"P{p + 1:02d}_{kind}"
            part = cells[cells["kind"] == kind].reset_index(drop=True)
            counts, _ = _counts(part, genes, profiles, panel, rng, car_feature)
            blocks.append(counts)
            obs.append(pd.DataFrame({
                "sample_id": sample_id, "study_id": study_id, "tissue": tissue, "study_day": day,
            }, index=[f"{sample_id}_{i}" for i in range(len(part))]))  # fmt: skip
    x = sp.vstack(blocks).tocsr()
    adata = ad.AnnData(X=x, obs=pd.concat(obs), var=pd.DataFrame(index=genes))
    adata.layers["counts"] = x.copy()
    return adata


def _genes(panel: Panel, n_background: int, car_feature: str) -> list[str]:
    mito = [f"MT-{g}" for g in ("ND1", "ND2", "CO1", "CO2", "ATP8", "ATP6", "CO3", "ND3",
                                "ND4L", "ND4", "ND5", "ND6", "CYB")]  # fmt: skip
    background = [f"BG{i:05d}" for i in range(n_background)]
    return [*panel.genes(), *mito, *background, car_feature]


def _profiles(panel: Panel, genes: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per cell type: expected share of each gene (without CAR, phenotype or mito boosts)."""
    index = {g: i for i, g in enumerate(genes)}
    background = np.array([g.startswith("BG") for g in genes])
    shared = rng.gamma(1.0, 1.0, background.sum())
    out = {}
    for cell_type in panel.cell_types:
        p = np.full(len(genes), 2e-6)
        p[background] = shared * rng.lognormal(0.0, 0.3, background.sum())
        p[background] *= 0.7 / p[background].sum()
        for g in cell_type.markers:
            p[index[g]] = 0.012
        out[cell_type.name] = p
    return out


def _patient_cells(study_id: str, p: int, scale: float, rng: np.random.Generator) -> pd.DataFrame:
    """The truth table of one patient: cell type, CAR, clone per cell, by sample kind."""
    rows: list[dict[str, object]] = []
    car_clones = [f"{study_id}-car{k}" for k in range(N_CAR_CLONES)]
    expanded = [f"{study_id}-exp{k}" for k in range(N_EXPANDED_CLONES)]
    unique = iter(f"{study_id}-u{k}" for k in range(10**7))
    for kind, _tissue, _day, n_car, step in SAMPLES:
        plan = {t: round(n * scale) for t, n in PLAN[kind].items()}
        if kind == "blood_pre":  # patients differ at baseline: more B and plasma cells
            plan["B naive"] += round(8 * p * scale)
            plan["plasma cell"] += round(2 * p * scale)
        n_car = round((n_car + step * p) * scale)
        t_cells = [t for t in ("CD4 T", "CD8 T") for _ in range(plan.get(t, 0))]
        n_car = min(n_car, len(t_cells))
        n_exp = EXPANDED.get(kind, 0) * N_EXPANDED_CLONES if scale >= 0.2 else 0
        for cell_type, n in plan.items():
            for _ in range(n):
                rows.append({"kind": kind, "cell_type": cell_type, "car": False,
                             "clone": None, "dying": False, "dropout": False})  # fmt: skip
        frame_t = [
            i for i, r in enumerate(rows) if r["kind"] == kind and r["cell_type"] in LINEAGE_T
        ]
        order = rng.permutation(frame_t).tolist()
        car_rows, rest = order[:n_car], order[n_car:]
        for j, i in enumerate(car_rows):
            rows[i]["car"] = True
            rows[i]["clone"] = car_clones[j % N_CAR_CLONES]
            # dropout only in cells that are not the first of their clone in this sample
            rows[i]["dropout"] = j >= N_CAR_CLONES and rng.random() < CAR_DROPOUT * 2
        exp_rows, other = rest[:n_exp], rest[n_exp:]
        for j, i in enumerate(exp_rows):
            rows[i]["clone"] = expanded[j % N_EXPANDED_CLONES]
        for j, i in enumerate(other):
            rows[i]["clone"] = None if j % 10 == 9 else next(unique)
        for _ in range(DYING_PER_SAMPLE):
            rows.append({"kind": kind, "cell_type": "CD4 T" if kind == "product" else "monocyte",
                         "car": False, "clone": None, "dying": True, "dropout": False})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["study_id"] = study_id
    return frame


def _barcodes(n: int, rng: np.random.Generator) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        code = "".join(rng.choice(list("ACGT"), 16)) + "-1"
        if code not in seen:
            seen.add(code)
            out.append(code)
    return out


def _counts(
    cells: pd.DataFrame, genes: list[str], profiles: dict[str, np.ndarray], panel: Panel,
    rng: np.random.Generator, car_feature: str,
) -> tuple[sp.csr_matrix, np.ndarray]:  # fmt: skip
    index = {g: i for i, g in enumerate(genes)}
    mito = np.array([g.startswith("MT-") for g in genes])
    boost = {ph.name: [index[g] for g in ph.genes] for ph in panel.phenotypes}
    n = len(cells)
    size = np.exp(np.clip(rng.normal(0.0, 0.25, n), -0.3, 0.3)) * 2500.0
    chunks = []
    car = cells["car"].to_numpy(dtype=bool)
    is_t = cells["cell_type"].isin(LINEAGE_T).to_numpy()
    for start in range(0, n, 2000):
        block = cells.iloc[start : start + 2000]
        p = np.stack([profiles[t] for t in block["cell_type"]])
        b_car, b_t = car[start : start + 2000], is_t[start : start + 2000]
        for name, rows, rate in (("proliferation", b_car, 0.004), ("cytotoxicity", b_car, 0.004),
                                 ("memory", b_t & ~b_car, 0.003)):  # fmt: skip
            cols = np.asarray(boost[name], dtype=np.intp)
            p[np.ix_(rows, cols)] = np.maximum(p[np.ix_(rows, cols)], rate)
        p[:, mito] = np.where(block["dying"].to_numpy()[:, None], 1.0, 0.03) / mito.sum()
        p /= p.sum(axis=1, keepdims=True)
        p[:, index[car_feature]] = 0.0
        chunks.append(
            sp.csr_matrix(rng.poisson(p * size[start : start + 2000, None]), dtype=np.float32)
        )
    counts = sp.vstack(chunks).tocsr()
    car_umi = np.where(
        car & ~cells["dropout"].to_numpy(dtype=bool),
        rng.poisson(6.0, n) + 2,
        (rng.random(n) < 0.03).astype(int),
    )
    column = sp.csr_matrix(
        (car_umi.astype(np.float32), (np.arange(n), np.full(n, index[car_feature]))),
        shape=counts.shape,
    )
    counts = (counts + column).tocsr()
    counts.eliminate_zeros()
    return counts, car_umi


def _write_gex(
    folder: Path, fmt: int, counts: sp.csr_matrix, genes: list[str], barcodes: pd.Series
) -> Path:
    ids = [f"ENSG{i:011d}" for i in range(len(genes))]
    if fmt == 0:
        import h5py

        path = folder / "filtered_feature_bc_matrix.h5"
        m = counts.astype(np.int32)
        with h5py.File(path, "w") as f:
            g = f.create_group("matrix")
            g.create_dataset("barcodes", data=np.array(barcodes, dtype="S"))
            g.create_dataset("data", data=m.data)
            g.create_dataset("indices", data=m.indices.astype(np.int64))
            g.create_dataset("indptr", data=m.indptr.astype(np.int64))
            g.create_dataset("shape", data=np.array([len(genes), counts.shape[0]], dtype=np.int32))
            feat = g.create_group("features")
            feat.create_dataset("_all_tag_keys", data=np.array(["genome"], dtype="S"))
            feat.create_dataset(
                "feature_type", data=np.array(["Gene Expression"] * len(genes), dtype="S")
            )
            feat.create_dataset("genome", data=np.array(["GRCh38"] * len(genes), dtype="S"))
            feat.create_dataset("id", data=np.array(ids, dtype="S"))
            feat.create_dataset("name", data=np.array(genes, dtype="S"))
        return path
    if fmt == 1:
        from scipy.io import mmwrite  # type: ignore[import-untyped]

        path = folder / "filtered_feature_bc_matrix"
        path.mkdir(exist_ok=True)
        with gzip.open(path / "matrix.mtx.gz", "wb") as f:
            mmwrite(f, counts.T.tocoo().astype(np.int32), field="integer")
        with gzip.open(path / "features.tsv.gz", "wt") as f:
            f.writelines(f"{i}\t{g}\tGene Expression\n" for i, g in zip(ids, genes, strict=True))
        with gzip.open(path / "barcodes.tsv.gz", "wt") as f:
            f.writelines(f"{b}\n" for b in barcodes)
        return path
    import anndata as ad

    adata = ad.AnnData(
        X=counts,
        obs=pd.DataFrame(index=list(barcodes)),
        var=pd.DataFrame({"gene_ids": ids}, index=genes),
    )
    if fmt == 2:
        path = folder / "counts.h5ad"
        adata.write_h5ad(path)
        return path
    import mudata as md

    path = folder / "sample.h5mu"  # the expression as the "rna" modality; receptors beside it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mudata's notices about its future defaults
        md.MuData({"rna": adata}).write_h5mu(path)
    return path


def _chains(clone: str) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """(locus, v gene, CDR3 aa) of the alpha and beta chain of `clone`, fixed by its name."""
    r = np.random.default_rng(int.from_bytes(hashlib.sha256(clone.encode()).digest()[:8], "big"))
    tra = "CAV" + "".join(r.choice(list(_AMINO), 9)) + "F"
    trb = "CAS" + "".join(r.choice(list(_AMINO), 10)) + "F"
    return ("TRA", str(r.choice(_TRAV)), tra), ("TRB", str(r.choice(_TRBV)), trb)


def _nt(aa: str) -> str:
    return "".join(_CODON[a] for a in aa)


def _write_contigs(
    folder: Path, fmt: int, cells: pd.DataFrame, rng: np.random.Generator
) -> Path | None:
    rows = []
    for _, cell in cells[cells["clone"].notna()].iterrows():
        for k, (locus, v, aa) in enumerate(_chains(str(cell["clone"]))):
            rows.append({"barcode": cell["barcode"], "contig": f"{cell['barcode']}_contig_{k + 1}",
                         "locus": locus, "v": v, "j": locus + "J1-1", "c": locus + "C",
                         "aa": aa, "nt": _nt(aa), "umis": int(rng.integers(2, 20))})  # fmt: skip
    if not rows:
        return None
    if fmt == 0:
        path = folder / "filtered_contig_annotations.csv"
        pd.DataFrame({
            "barcode": [r["barcode"] for r in rows], "is_cell": True,
            "contig_id": [r["contig"] for r in rows], "high_confidence": True,
            "length": [500 + len(r["nt"]) for r in rows], "chain": [r["locus"] for r in rows],
            "v_gene": [r["v"] for r in rows], "d_gene": "None", "j_gene": [r["j"] for r in rows],
            "c_gene": [r["c"] for r in rows], "full_length": True, "productive": True,
            "cdr3": [r["aa"] for r in rows], "cdr3_nt": [r["nt"] for r in rows],
            "reads": [r["umis"] * 100 for r in rows], "umis": [r["umis"] for r in rows],
            "raw_clonotype_id": "None", "raw_consensus_id": "None",
        }).to_csv(path, index=False)  # fmt: skip
        return path
    path = folder / "airr_rearrangement.tsv"
    pd.DataFrame({
        "cell_id": [r["barcode"] for r in rows], "sequence_id": [r["contig"] for r in rows],
        "sequence": [r["nt"] for r in rows], "rev_comp": "F", "productive": "T",
        "v_call": [r["v"] for r in rows], "d_call": "", "j_call": [r["j"] for r in rows],
        "c_call": [r["c"] for r in rows], "sequence_alignment": "", "germline_alignment": "",
        "junction": [r["nt"] for r in rows], "junction_aa": [r["aa"] for r in rows],
        "v_cigar": "", "d_cigar": "", "j_cigar": "", "locus": [r["locus"] for r in rows],
        "umi_count": [r["umis"] for r in rows], "consensus_count": [r["umis"] * 100 for r in rows],
    }).to_csv(path, sep="\t", index=False)  # fmt: skip
    return path


def expected_readouts(truth: pd.DataFrame) -> pd.DataFrame:
    """The readouts the design implies, counted from the truth table (dying cells excluded)."""
    cells = truth[~truth["dying"]]
    t_types = set(LINEAGE_T)
    b_types = {"B naive", "B memory"}
    plasma_types = {"plasmablast", "plasma cell"}
    contaminants = {"erythrocyte", "platelet"}
    meta = {
        f"P{p:02d}_{kind}": (tissue, day)
        for p in range(1, 100)
        for kind, tissue, day, _, _ in SAMPLES
    }
    rows = []
    tcr: dict[str, list[str]] = {}
    for sample_id, s in cells.groupby("sample_id", sort=False):
        tissue, day = meta[str(sample_id)]
        t = s[s["cell_type"].isin(t_types)]
        leukocytes = int((~s["cell_type"].isin(contaminants)).sum())
        clones = [str(c) for c in t["clone"] if c is not None and not pd.isna(c)]
        tcr[str(sample_id)] = clones
        sizes = pd.Series(clones).value_counts()
        expanded = sum(int(n) for n in sizes if n >= 2)
        rows.append({
            "sample_id": sample_id, "study_id": s["study_id"].iloc[0], "tissue": tissue,
            "study_day": day, "n_cells": len(s), "n_t_cells": len(t),
            "n_car_t_cells": int(t["car"].sum()),
            "car_pct_of_t": 100.0 * int(t["car"].sum()) / len(t) if len(t) else np.nan,
            "b_cell_pct": 100.0 * int(s["cell_type"].isin(b_types).sum()) / leukocytes,
            "plasma_cell_pct": 100.0 * int(s["cell_type"].isin(plasma_types).sum()) / leukocytes,
            "expanded_clone_pct": 100.0 * expanded / len(clones) if clones else np.nan,
        })  # fmt: skip
    table = pd.DataFrame(rows)
    ratio, overlap, product = [], [], []
    for _, row in table.iterrows():
        prefix = str(row["sample_id"]).split("_")[0]
        day = row["study_day"]
        blood = f"{prefix}_blood_d{day}"
        r = o = q = np.nan
        if row["tissue"] == "csf" and blood in tcr:
            b = table.set_index("sample_id").loc[blood]
            r = row["car_pct_of_t"] / b["car_pct_of_t"] if b["car_pct_of_t"] > 0 else np.nan
            mine = tcr[str(row["sample_id"])]
            o = 100.0 * sum(c in set(tcr[blood]) for c in mine) / len(mine) if mine else np.nan
        if row["tissue"] in ("csf", "blood") and day >= 0 and f"{prefix}_product" in tcr:
            mine = tcr[str(row["sample_id"])]
            made = set(tcr[f"{prefix}_product"])
            q = 100.0 * sum(c in made for c in mine) / len(mine) if mine else np.nan
        ratio.append(r)
        overlap.append(o)
        product.append(q)
    table["csf_blood_car_ratio"] = ratio
    table["csf_blood_overlap_pct"] = overlap
    table["product_overlap_pct"] = product
    return table
