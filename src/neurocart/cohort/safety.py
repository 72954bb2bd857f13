"""Incidence and grade of CRS, ICANS, ICAHT and infections after infusion.

* CRS and ICANS (ASTCT consensus grades, Lee DW et al. Biol Blood Marrow Transplant
  2019;25:625–38): the highest grade per patient among `adverse_event` events with term "crs" /
  "icans" and the graded assessments of the `crs` / `icans` calculators after infusion.
* ICAHT (EHA/EBMT, Rejeski K et al. Blood 2023;142:865–77): early ICAHT from the `icaht`
  calculator on each patient's ANC (LOINC 751-8) on study days 0–30; patients without an ANC
  in that window are not evaluable and leave the denominator.
* Infections: `infection` events (CTCAE grade) after infusion; the worst grade per patient.

Denominator: infused patients (ICAHT: evaluable patients). Grade 0 = did not occur.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from neurocart.frames import CohortFrames
from neurocart.kinetics.days import elapsed_days, infusions, with_days
from neurocart.standards.icaht import early_grades

ANC_CODE = "751-8"
TOXICITIES = ("CRS", "ICANS", "ICAHT", "Infection")
GRADE_COLUMNS = ["grade_1", "grade_2", "grade_3", "grade_4", "grade_5"]
TABLE_COLUMNS = [
    "toxicity",
    "n_patients",
    "n_any",
    "pct_any",
    *GRADE_COLUMNS,
    "n_grade_3_plus",
    "pct_grade_3_plus",
]


def icaht_grades(frames: CohortFrames) -> pd.Series:
    """Early ICAHT grade per patient with an ANC on days 0–30 (index study_id).

    All patients' series are graded in one vectorized call (`icaht.early_grades`, the
    calculator's grading of each series), not one `calculate` per patient.
    """
    anc = frames.observations[frames.observations["code"] == ANC_CODE]
    anc = with_days(anc[["study_id", "value", "effective_at"]], frames.courses)
    anc = anc[(anc["day"] >= 0) & (anc["day"] <= 30)]
    patient, ids = pd.factorize(anc["study_id"], sort=True)
    grades = early_grades(
        patient.astype(np.intp),
        anc["day"].to_numpy(dtype=np.int64),
        anc["value"].to_numpy(dtype=np.float64),
    )
    index = pd.Index([str(sid) for sid in ids], dtype=object)
    return pd.Series(grades, index=index, dtype="int64", name="ICAHT")


WORST = ("CRS", "ICANS", "Infection")
"""The toxicities graded by events and assessments (ICAHT is graded from the ANC)."""


def _worst(frames: CohortFrames, patients: pd.Index) -> pd.DataFrame:
    """Worst grade (0 = none) per patient and toxicity after infusion, `patients` by `WORST`.

    The graded events and assessments are not joined into one table and pivoted: each
    grade goes straight into its patient's and toxicity's cell (`np.fmax`, which skips a
    missing grade as the pivot's max did).
    """
    worst = np.full((len(patients), len(WORST)), np.nan)

    def grade(study_id: pd.Series, kind: npt.NDArray[np.object_], value: pd.Series) -> None:
        row = patients.get_indexer(pd.Index(study_id))
        column = pd.Index(WORST).get_indexer(pd.Index(kind))
        cell = (row >= 0) & (column >= 0)
        grades = pd.to_numeric(value).to_numpy(dtype=float, na_value=np.nan)
        np.fmax.at(worst, (row[cell], column[cell]), grades[cell])

    ev = frames.events
    after = elapsed_days(ev, frames.courses, "onset_at") >= 0  # NaN (never infused): False
    ev = ev[after & ev["grade"].notna().to_numpy()]
    term = ev["term"].astype(object).where(ev["type"] == "adverse_event")
    grade(ev["study_id"], np.where(ev["type"] == "infection", "Infection",
                                   term.fillna("").str.upper()), ev["grade"])  # fmt: skip
    a = frames.assessments[frames.assessments["instrument"].isin(["crs", "icans"])]
    a = a[elapsed_days(a, frames.courses) >= 0]
    codes, instruments = pd.factorize(np.asarray(a["instrument"].array, dtype=object))
    upper = np.array([str(i).upper() for i in instruments] + [""], dtype=object)
    grade(a["study_id"], upper[codes], a["value"])
    table = pd.DataFrame(
        np.nan_to_num(worst, nan=0.0), index=patients, columns=pd.Index(WORST, name="kind")
    )
    return table.astype("int64")


def worst_grades(frames: CohortFrames) -> pd.DataFrame:
    """Per infused patient: worst CRS, ICANS, infection grade (0 = none) and ICAHT (NA = no ANC)."""
    patients = infusions(frames.courses).index
    out = _worst(frames, patients)
    out["ICAHT"] = icaht_grades(frames).reindex(patients).astype("Int64")
    return out.rename_axis("study_id").reset_index()


def toxicity_table(worst: pd.DataFrame) -> pd.DataFrame:
    """Incidence (any grade, grade ≥ 3) and the count per worst grade, one row per toxicity."""
    rows = []
    for tox in TOXICITIES:
        grades = worst[tox].dropna().astype(int)
        n = len(grades)
        row: dict[str, object] = {"toxicity": tox, "n_patients": n}
        row["n_any"] = int((grades > 0).sum())
        row["pct_any"] = 100.0 * row["n_any"] / n if n else float("nan")  # type: ignore[operator]
        for g in range(1, 6):
            row[f"grade_{g}"] = int((grades == g).sum())
        row["n_grade_3_plus"] = int((grades >= 3).sum())
        row["pct_grade_3_plus"] = 100.0 * row["n_grade_3_plus"] / n if n else float("nan")  # type: ignore[operator]
        rows.append(row)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return table.round({"pct_any": 1, "pct_grade_3_plus": 1})
