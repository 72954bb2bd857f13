"""The cohort analysis of a seeded simulated cohort, written down once, to hold later runs to it.

`analyse` is rewritten for speed from time to time (one pass per frame, vectorized
calculators); this snapshot is what keeps such rewrites honest: every table, the values behind
the KM figure and the Cox fit's counts, cell by cell, with dtypes. Regenerate it only when a
result is meant to change (say why in the commit):

    PYTHONPATH=src .venv/bin/python -m tests.cohort.golden
"""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PATIENTS = 500
SEED = 11
NOW = datetime(2026, 6, 1, 23, 59, 59, tzinfo=UTC)
CUTOFF = date(2026, 6, 1)
PATH = Path(__file__).with_name("golden_analysis.json.gz")

REL_TOL = 1e-9
"""Floats agree to 9 significant digits, not bit for bit: the Cox and Kaplan–Meier fits run
through BLAS and libm, whose last bits differ between machines; any change of a definition
moves a result far more than this."""


def _cell(value: Any) -> Any:
    """One cell in a JSON-stable form (missing of any kind → None; instants as ISO text)."""
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_cell(v) for v in value]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return str(value)


def table_record(frame: pd.DataFrame) -> dict[str, Any]:
    """Columns, dtypes and rows of one table."""
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "rows": [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)],
    }


def snapshot() -> dict[str, Any]:
    """The analysis of the seeded cohort as plain data."""
    from neurocart.cohort import analyse
    from neurocart.simulate import simulate_cohort

    frames = simulate_cohort(PATIENTS, SEED, now=NOW)
    result = analyse(frames, cutoff=CUTOFF)
    cox = result.cox
    return {
        "n_patients": result.n_patients,
        "figures": sorted(result.figures),
        "cox": None if cox is None else [cox.n, cox.events, cox.penalizer, cox.reference_disease],
        "tables": {name: table_record(t) for name, t in sorted(result.tables.items())},
        "figure_values": {
            name: table_record(t) for name, t in sorted(result.figure_values.items())
        },
    }


def load() -> dict[str, Any]:
    with gzip.open(PATH, "rt", encoding="utf-8") as source:
        data: dict[str, Any] = json.load(source)
    return data


def same(a: Any, b: Any) -> bool:
    """Equal, floats within `REL_TOL` (ints and floats are told apart: a dtype change shows)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def differences(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Where `got` departs from `expected`: the table, and the first differing cell per column."""
    found: list[str] = []
    for key in ("n_patients", "figures", "cox"):
        if not same(expected[key], got[key]):
            found.append(f"{key}: {got[key]!r} != {expected[key]!r}")
    for part in ("tables", "figure_values"):
        names = sorted(set(expected[part]) | set(got[part]))
        for name in names:
            if name not in got[part] or name not in expected[part]:
                found.append(f"{part}.{name}: present in only one of the two")
                continue
            a, b = expected[part][name], got[part][name]
            found.extend(_table_differences(f"{part}.{name}", a, b))
    return found


def _table_differences(where: str, a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    if a["columns"] != b["columns"]:
        return [f"{where}: columns {b['columns']} != {a['columns']}"]
    found = [
        f"{where}.{c}: dtype {tb} != {ta}"
        for c, ta, tb in zip(a["columns"], a["dtypes"], b["dtypes"], strict=True)
        if ta != tb
    ]
    if len(a["rows"]) != len(b["rows"]):
        return [*found, f"{where}: {len(b['rows'])} rows != {len(a['rows'])}"]
    for j, column in enumerate(a["columns"]):
        for i, (ra, rb) in enumerate(zip(a["rows"], b["rows"], strict=True)):
            if not same(ra[j], rb[j]):
                found.append(f"{where}.{column} row {i}: {rb[j]!r} != {ra[j]!r}")
                break
    return found


def write() -> None:
    """Record the current analysis as the golden one."""
    text = json.dumps(snapshot(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    with gzip.GzipFile(PATH, "wb", mtime=0) as out:
        out.write(text.encode("utf-8"))


if __name__ == "__main__":
    write()
    print(f"wrote {PATH}")
