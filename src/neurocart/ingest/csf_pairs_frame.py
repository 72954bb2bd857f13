"""The paired-sample rule of `neurocart.ingest.csf_pairs` over a whole cohort's samples at once.

`pair_lumbar_punctures` pairs one patient's samples; a cohort report pairs every patient's
(10,000 patients: ~20,000 punctures), and one call per patient was the slowest step of the
analysis (~4 s). `puncture_inputs` applies the same rule to a table of all the samples with
numpy: a puncture is the CSF values within 2 h of its first one; per key, the value nearest
the puncture; per analyte, the serum value nearest the puncture within 48 h (a tie: the
earlier draw, then the first given); the calculators' inputs as `csf_pairs` lists them.
Without treatments (a cohort's observations carry none), and with the default windows. A
property test holds it to `pair_lumbar_punctures`, patient by patient.

    inputs = puncture_inputs(samples, birth_years)   # samples: study_id, key, value, at
    inputs["kflc_index"]   # study_id, csf_at, csf_albumin_mg_l, serum_albumin_g_l, ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from neurocart.ingest.csf_pairs import (
    ANALYTES,
    CALCULATOR_NEEDS,
    DEFAULT_MAX_INTERVAL_H,
    OCB_KEYS,
    PUNCTURE_WINDOW_H,
    REIBER_MIN_AGE,
)

CSF_KEYS = (*(csf for csf, _, _ in ANALYTES.values()), *OCB_KEYS)
INPUT_COLUMNS: Mapping[str, tuple[tuple[str, str], ...]] = {
    # calculator input ← "csf:<key>" (the puncture's CSF value) or "serum:<analyte>" (its pair)
    "albumin": (("csf_albumin_mg_l", "csf:albumin_csf"), ("serum_albumin_g_l", "serum:albumin")),
    "igg": (("csf_igg_mg_l", "csf:igg_csf"), ("serum_igg_g_l", "serum:igg")),
    "kflc": (("csf_kflc_mg_l", "csf:kflc_csf"), ("serum_kflc_mg_l", "serum:kflc")),
    "lflc": (("csf_kflc_mg_l", "csf:lflc_csf"), ("serum_kflc_mg_l", "serum:lflc")),
}
"""`csf_pairs._calculator_inputs`, analyte by analyte (λ chains go in the κ formula's fields)."""


def _hours(delta_us: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """`csf_pairs._hours` of microsecond differences, float for float (Python divides the
    integer microseconds by 10⁶ with one correct rounding, as numpy does here)."""
    return np.abs(delta_us) / 1e6 / 3600.0


def _clusters(patient: npt.NDArray[np.intp], t: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Puncture number of each CSF row (rows by patient, then time): `csf_pairs._clusters`.

    A puncture starts at a patient's first unassigned value and takes every later value within
    the window of that start; rounds of the greedy scan run over all patients at once.
    """
    label = np.full(len(t), -1, dtype=np.intp)
    rest = np.arange(len(t))
    round_ = 0
    while len(rest):
        p = patient[rest]
        first = np.r_[True, p[1:] != p[:-1]]  # each patient's first unassigned row
        start_t = t[rest[first]][np.cumsum(first) - 1]
        within = _hours(t[rest] - start_t) <= PUNCTURE_WINDOW_H
        label[rest[within]] = round_ * len(t) + p[within]
        rest = rest[~within]
        round_ += 1
    return pd.factorize(label)[0]  # numbered in row order: by patient, then time


def _nearest(
    punctures: pd.DataFrame, draws: pd.DataFrame
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Per puncture (patient, csf_at), the value of the nearest draw within 48 h and whether
    there is one: `csf_pairs._nearest` (the draws hold one row per patient and instant, the
    first given)."""
    left = punctures[["patient", "csf_at"]].reset_index(names="puncture").sort_values("csf_at")
    right = draws.rename(columns={"t": "csf_at"}).sort_values("csf_at", kind="stable")
    sides = []
    for direction in ("backward", "forward"):
        found = pd.merge_asof(
            left, right.assign(at=right["csf_at"]), on="csf_at", by="patient", direction=direction
        ).sort_values("puncture")
        at = found["at"].to_numpy(dtype=float)  # NaN: none on that side
        hours = np.where(np.isnan(at), np.inf, 0.0)
        present = ~np.isnan(at)
        hours[present] = _hours(found["csf_at"].to_numpy()[present] - at[present].astype(np.int64))
        sides.append((hours, found["value"].to_numpy(dtype=float)))
    (h_before, v_before), (h_after, v_after) = sides
    after = h_after < h_before  # a tie: the earlier draw
    hours = np.where(after, h_after, h_before)
    return np.where(after, v_after, v_before), hours <= DEFAULT_MAX_INTERVAL_H


def puncture_inputs(
    samples: pd.DataFrame, birth_years: Mapping[Any, Any] | None = None
) -> dict[str, pd.DataFrame]:
    """The calculators' inputs of every puncture, per calculator (those of `CALCULATOR_NEEDS`
    and `ocb_pattern`), with study_id and csf_at (µs since the epoch, UTC) first.

    `samples`: study_id, key (catalogue key), value, at (UTC instants); rows per patient in
    the order they would be given to `pair_lumbar_punctures`. `birth_years`: study_id →
    birth year (the age of the Qalb limit). Rows come per patient (study_id order), then by
    puncture time: the order of one `pair_lumbar_punctures` call per patient.
    """
    patient, ids = pd.factorize(samples["study_id"], sort=True)
    t = samples["at"].dt.as_unit("us").array.asi8
    data = pd.DataFrame({"patient": patient, "key": samples["key"].to_numpy(dtype=object),
                         "value": samples["value"].to_numpy(dtype=float), "t": t,
                         "given": np.arange(len(t))})  # fmt: skip
    data = data.sort_values(["patient", "t", "given"])  # `sorted(..., key=at)` per patient
    csf = data[data["key"].isin(CSF_KEYS)]
    if csf.empty:
        return {}
    number = _clusters(csf["patient"].to_numpy(), csf["t"].to_numpy())
    csf = csf.assign(puncture=number).drop_duplicates(["puncture", "key"])  # the nearest: first
    punctures = csf.drop_duplicates("puncture")[["puncture", "patient", "t"]]
    punctures = punctures.rename(columns={"t": "csf_at"}).set_index("puncture").sort_index()
    values = csf.pivot(index="puncture", columns="key", values="value").reindex(
        index=punctures.index, columns=list(CSF_KEYS)
    )
    cells: dict[str, npt.NDArray[np.float64]] = {f"csf:{k}": values[k].to_numpy() for k in CSF_KEYS}
    present = {k: ~np.isnan(cells[f"csf:{k}"]) for k in CSF_KEYS}
    paired: dict[str, npt.NDArray[np.bool_]] = {}
    for analyte, (_, serum_key, _) in ANALYTES.items():
        draws = data[data["key"] == serum_key].drop_duplicates(["patient", "t"])
        value, within = _nearest(punctures, draws[["patient", "t", "value"]])
        paired[analyte] = within
        cells[f"serum:{analyte}"] = value
    births = birth_years or {}
    birth = np.array([_year(births.get(sid)) for sid in ids], dtype=float)[punctures["patient"]]
    year = punctures["csf_at"].to_numpy().astype("datetime64[us]").astype("datetime64[Y]")
    age = year.astype(np.int64) + 1970 - birth
    head = {"study_id": ids.to_numpy(dtype=object)[punctures["patient"]],
            "csf_at": punctures["csf_at"].to_numpy()}  # fmt: skip
    out: dict[str, pd.DataFrame] = {}
    for name, needs in CALCULATOR_NEEDS.items():
        ok = np.logical_and.reduce(
            [present[ANALYTES[a][0]] & paired[a] for a in needs] + [present[ANALYTES[needs[-1]][0]]]
        )
        if name == "reibergram_igg":
            ok &= ~np.isnan(age) & (age >= REIBER_MIN_AGE)
        columns = {c: cells[source][ok] for a in ("albumin", *needs[1:]) for c, source in
                   INPUT_COLUMNS[a]}  # fmt: skip
        if name in ("qalb", "reibergram_igg") and not np.isnan(age[ok]).all():
            columns = {**dict(list(columns.items())[:2]), "age_years": age[ok],
                       **dict(list(columns.items())[2:])}  # fmt: skip
        out[name] = pd.DataFrame({**{k: v[ok] for k, v in head.items()}, **columns})
    ocb = present["ocb_csf_bands"]
    bands = cells["csf:ocb_csf_bands"][ocb]
    identical = cells["csf:ocb_identical_bands"][ocb]
    if not (np.isfinite(bands).all() and np.isfinite(identical[~np.isnan(identical)]).all()):
        raise ValueError("an oligoclonal band count is not a finite number")
    out["ocb_pattern"] = pd.DataFrame({
        **{k: v[ocb] for k, v in head.items()},
        "csf_restricted_bands": bands.astype(np.int64),
        "identical_bands": np.where(np.isnan(identical), 0, identical).astype(np.int64),
        "monoclonal": cells["csf:ocb_monoclonal"][ocb] == 1.0,
    })  # fmt: skip
    return out


def _year(value: Any) -> float:
    return np.nan if value is None or pd.isna(value) else float(int(value))
