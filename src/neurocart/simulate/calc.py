"""Grade simulated calculator inputs with the real calculators, never with our own sums.

`grade` turns input columns into the per-row input dicts stored in `assessments.inputs`
and grades them with `neurocart.standards.calculate_frame` (vectorized; the registry holds
every calculator to agreeing with `calculate` row by row). Calculators that take nested
inputs are called once per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from neurocart.standards import REGISTRY, calculate, calculate_frame


def optional(values: Any, missing: Any) -> npt.NDArray[np.object_]:
    """`values` as an object array with None where `missing` (an omitted optional input)."""
    out: npt.NDArray[np.object_] = np.array(values, dtype=object)
    out[np.asarray(missing, dtype=bool)] = None
    return out


def _native(values: Any) -> list[Any]:
    arr = np.asarray(values)
    if arr.dtype == object:
        return [v.item() if isinstance(v, np.generic) else v for v in arr.tolist()]
    return list(arr.tolist())


def grade(instrument: str, columns: Mapping[str, Any]) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """(input dicts, frame of value/label) for equal-length input columns."""
    keys = list(columns)
    lists = [_native(columns[k]) for k in keys]
    n = len(lists[0]) if lists else 0
    records = [dict(zip(keys, row, strict=True)) for row in zip(*lists, strict=True)]
    if n == 0:
        return [], pd.DataFrame({"value": np.array([], float), "label": np.array([], object)})
    if REGISTRY[instrument].vectorized is not None:
        frame = pd.DataFrame(
            {k: pd.Series(v, dtype=object) for k, v in zip(keys, lists, strict=True)}
        )
        out = calculate_frame(instrument, frame)
        return records, pd.DataFrame(
            {"value": out["value"].to_numpy(dtype=float), "label": out["label"].to_numpy(object)}
        )
    return grade_rows(instrument, records)


def grade_rows(
    instrument: str, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Score each record with the real calculator, returning the records and their values and labels
    as a frame."""
    results = [calculate(instrument, r) for r in records]
    return records, pd.DataFrame(
        {
            "value": np.array([r.number for r in results]),
            "label": np.array([r.label for r in results], dtype=object),
        }
    )
