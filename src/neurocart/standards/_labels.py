"""Labels for a whole column, each distinct label formatted once.

A frame of a million rows holds few distinct labels: a total out of 30, a grade out of 5, an
index rounded to three significant digits. Formatting the text row by row costs far more
than the grading; here each distinct label is formatted once and the column is an indexing
operation over a small table. The texts are exactly those `template % value` gives, which
the scalar path of every calculator also uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

# pandas is imported in the functions that use it: importing the calculators (the API's
# start-up) does not load it.

_PLACEHOLDER = re.compile(r"%\.(\d+)([fg])")
_TABLE_SPAN = 100_000
"""Integer labels within a span this wide come from a table indexed by the value."""
_HALF_TOLERANCE = 1e-9
_EXACT_INTEGERS = 2.0**50
"""A value this close to a rounding tie is formatted on its own (exactly as `%` rounds)."""


def by_integer(values: npt.ArrayLike, make: Callable[[int], str]) -> npt.NDArray[np.object_]:
    """`make(v)` for every integer `v` of `values`, calling `make` once per distinct value.

    >>> by_integer([3, 1, 3], lambda v: f"grade {v}").tolist()
    ['grade 3', 'grade 1', 'grade 3']
    """
    import pandas as pd

    ints = np.asarray(values, dtype=np.int64)
    if ints.size == 0:
        return np.empty(ints.shape, dtype=object)
    low, high = int(ints.min()), int(ints.max())
    if high - low < _TABLE_SPAN:
        table = np.empty(high - low + 1, dtype=object)
        present = np.zeros(high - low + 1, dtype=bool)
        present[ints.ravel() - low] = True
        for offset in np.flatnonzero(present).tolist():
            table[offset] = make(low + offset)
        out: npt.NDArray[np.object_] = table[ints - low]
        return out
    codes, uniques = pd.factorize(ints.ravel())
    texts = np.asarray([make(int(v)) for v in uniques], dtype=object)
    return np.asarray(texts[codes].reshape(ints.shape), dtype=object)


def _rounding_key(
    values: npt.NDArray[np.float64], kind: str, places: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The value rounded as `%.{places}{kind}` rounds it, and where that is not certain."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "f":
            shift = np.full(values.shape, places, dtype=np.int64)
        else:
            exponent = np.floor(np.log10(np.abs(values)))
            finite = np.isfinite(exponent)
            shift = np.where(finite, places - 1 - exponent, 0).astype(np.int64)
        power = 10.0 ** np.abs(shift)
        scaled = np.where(shift >= 0, values * power, values / power)
        mantissa = np.round(scaled)
        fraction = np.abs(scaled - np.trunc(scaled))
        uncertain = (
            ~np.isfinite(scaled)
            | (np.abs(fraction - 0.5) < _HALF_TOLERANCE)
            | (np.abs(scaled) >= _EXACT_INTEGERS)  # too large for the rounding to be exact
        )
        if kind == "g":
            magnitude = np.abs(scaled)
            uncertain |= ~finite | (magnitude < 10.0 ** (places - 1)) | (magnitude >= 10.0**places)
        key = np.where(shift >= 0, mantissa / power, mantissa * power)
        uncertain |= ~np.isfinite(key) | ((mantissa == 0) & np.signbit(scaled))  # "-0.00"
    return key, uncertain


def by_format(values: npt.ArrayLike, template: str) -> npt.NDArray[np.object_]:
    """`template % v` for every float `v`; the template holds one `%.Nf` or `%.Ng`.

    Values are grouped by what the format rounds them to, and each group is formatted once;
    a value at a rounding tie, or not finite, is formatted on its own.

    >>> by_format([1234.5, 0.000123456, 1234.4], "EASIX %.3g").tolist()
    ['EASIX 1.23e+03', 'EASIX 0.000123', 'EASIX 1.23e+03']
    """
    import pandas as pd

    floats = np.asarray(values, dtype=np.float64)
    match = _PLACEHOLDER.search(template)
    if match is None:
        raise ValueError(f"template {template!r} needs one %.Nf or %.Ng")
    places, kind = int(match.group(1)), match.group(2)
    flat = floats.ravel()
    out = np.empty(flat.shape, dtype=object)
    key, uncertain = _rounding_key(flat, kind, places)
    sure = ~uncertain
    if sure.any():
        codes, uniques = pd.factorize(key[sure])
        texts = np.asarray([template % float(k) for k in uniques], dtype=object)
        out[sure] = texts[codes]
    if uncertain.any():
        out[uncertain] = [template % v for v in flat[uncertain].tolist()]
    return np.asarray(out.reshape(floats.shape), dtype=object)


def pick(index: npt.ArrayLike, table: Any) -> npt.NDArray[np.object_]:
    """`table[i]` for every `i` of `index` (an array of positions into a tuple of labels)."""
    return np.asarray(np.asarray(table, dtype=object)[np.asarray(index, dtype=np.intp)])
