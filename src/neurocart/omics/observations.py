"""Per-sample readouts as observation rows for the patient's record (catalogue local codes).

Blood and CSF samples only: an infusion product is not a specimen of the patient, so its
readouts stay in the run's table. A readout that is empty (its denominator was 0, or it has no
paired sample) is not stored. Pure: no scanpy, no database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

SOURCE = "omics"
RATIO_UNIT = "{ratio}"

CODES: Mapping[tuple[str, str], tuple[str, str]] = {
    ("blood", "car_pct_of_t"): ("local:sc_car_pct_t_blood", "%"),
    ("csf", "car_pct_of_t"): ("local:sc_car_pct_t_csf", "%"),
    ("csf", "csf_blood_car_ratio"): ("local:sc_car_csf_blood_ratio", RATIO_UNIT),
    ("blood", "b_cell_pct"): ("local:sc_b_cell_pct_blood", "%"),
    ("csf", "b_cell_pct"): ("local:sc_b_cell_pct_csf", "%"),
    ("blood", "plasma_cell_pct"): ("local:sc_plasma_cell_pct_blood", "%"),
    ("csf", "plasma_cell_pct"): ("local:sc_plasma_cell_pct_csf", "%"),
    ("blood", "expanded_clone_pct"): ("local:sc_expanded_clone_pct_blood", "%"),
    ("csf", "expanded_clone_pct"): ("local:sc_expanded_clone_pct_csf", "%"),
    ("csf", "csf_blood_overlap_pct"): ("local:sc_csf_blood_clone_overlap", "%"),
}
"""(tissue, readout column) → (local code, unit)."""


@dataclass(frozen=True, slots=True)
class SampleObservations:
    """The rows of one sample for `services.ingest` (without `effective_at` when unknown)."""

    sample_id: str
    study_id: str
    study_day: int
    collected_at: datetime | None
    rows: list[dict[str, Any]]


def readout_rows(
    readouts: pd.DataFrame, collected: Mapping[str, datetime | None] | None = None
) -> list[SampleObservations]:
    """One entry per blood/CSF sample with its observation rows (value rounded to 4 places)."""
    collected = collected or {}
    out = []
    for r in readouts.to_dict("records"):
        tissue = str(r["tissue"])
        rows = []
        for (t, column), (code, unit) in CODES.items():
            value = r.get(column)
            if t != tissue or value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            rows.append({
                "code": code, "code_system": "urn:neurocart:local", "value": round(float(value), 4),
                "unit": unit, "specimen": tissue, "source": SOURCE,
                "note": f"single-cell sample {r['sample_id']} ({int(r['n_cells'])} cells)",
            })  # fmt: skip
        if rows:
            out.append(SampleObservations(
                str(r["sample_id"]), str(r["study_id"]), int(r["study_day"]),
                collected.get(str(r["sample_id"])), rows,
            ))  # fmt: skip
    return out
