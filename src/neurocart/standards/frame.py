"""Vectorized validation of a whole table of calculator inputs.

The rules are those of the input model (types, ranges, choices, defaults, cross-field
checks), applied column by column with numpy so that a million rows validate in a fraction
of a second. The first offending row of each problem is named, with how many rows share it.

A column of choices is factorized once (each distinct text looked at once, not each row)
and handed to the calculator as a `ChoiceArray`: an object array of the choice names, as
before, that also carries the integer code of every row, so that comparing it with a choice
(`c["oxygen_device"] == "none"`) compares small integers, and `lookup` turns a table of
points per choice into a column with one indexing operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from neurocart.standards.errors import MUST_BE, MUST_BE_ONE_OF, FieldProblem
from neurocart.standards.fields import FieldSpec
from neurocart.standards.inputs import Check

if TYPE_CHECKING:  # pandas is imported where it is used: importing the calculators
    import pandas as pd  # (the API's start-up) does not load it

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_NO_BOOLEANS = {"integer", "floating", "mixed-integer-float", "decimal", "empty", "string"}
"""What `pandas.api.types.infer_dtype` says of an object column that holds no booleans."""


class ChoiceArray(np.ndarray[Any, np.dtype[np.object_]]):
    """An object array of choice names that also knows each row's code among `choices`.

    It behaves as the object array it is; `==` and `!=` with a text compare the integer codes
    instead of every string. A row whose cell is absent (no default) has code -1 and holds
    None. Slices and results of other operations are plain object arrays again.
    """

    codes: npt.NDArray[np.intp] | None
    choices: tuple[Any, ...]

    def __new__(
        cls, codes: npt.NDArray[np.intp], choices: Sequence[Any], missing: Any = None
    ) -> ChoiceArray:
        table = np.empty(len(choices) + 1, dtype=object)
        table[: len(choices)] = list(choices)
        table[-1] = missing
        out = table[codes].view(cls)
        out.codes = codes
        out.choices = tuple(choices)
        return out

    def __array_finalize__(self, obj: Any) -> None:
        self.codes = None
        self.choices = ()

    def _code(self, other: object) -> int | None:
        if self.codes is None or not isinstance(other, str):
            return None
        try:
            return self.choices.index(other)
        except ValueError:
            return -2  # not a choice: no row equals it

    def __eq__(self, other: object) -> Any:
        code = self._code(other)
        if code is None:
            return np.asarray(self).__eq__(other)
        assert self.codes is not None
        return self.codes == code

    def __ne__(self, other: object) -> Any:
        code = self._code(other)
        if code is None:
            return np.asarray(self).__ne__(other)
        assert self.codes is not None
        return self.codes != code

    __hash__ = None


def lookup(
    column: npt.NDArray[Any], table: Mapping[Any, Any], default: Any = 0
) -> npt.NDArray[Any]:
    """`table[choice]` for every row (`default` for a choice not in it, or an absent cell).

    On a `ChoiceArray` this is one indexing operation over the codes; on any other array (a
    single input's 0-d array, a plain object column) one comparison per entry of `table`.
    """
    if isinstance(column, ChoiceArray) and column.codes is not None:
        values = [table.get(choice, default) for choice in column.choices] + [default]
        return np.asarray(values)[column.codes]
    out = np.full(
        np.shape(column), default, dtype=np.asarray(list(table.values()) or [default]).dtype
    )
    plain = np.asarray(column)
    for choice, value in table.items():
        out[plain == choice] = value
    return out


def _problem(
    spec: FieldSpec, bad: npt.NDArray[np.bool_], index: pd.Index, values: Any, message: str
) -> FieldProblem:
    rows = np.flatnonzero(bad)
    first = int(rows[0])
    count = len(rows)
    suffix = f" ({count} rows)" if count > 1 else ""
    got = values[first]
    got = got.item() if isinstance(got, np.generic) else got
    return FieldProblem(spec.name, message + suffix, got, row=_row_label(index, first))


def _row_label(index: pd.Index, position: int) -> int:
    label = index[position]
    return int(label) if isinstance(label, int | np.integer) else position


def _missing(series: pd.Series) -> npt.NDArray[np.bool_]:
    return series.isna().to_numpy()


def _is_number_dtype(series: pd.Series) -> bool:
    import pandas as pd

    return series.dtype != bool and pd.api.types.is_numeric_dtype(series.dtype)


def _numeric(
    spec: FieldSpec, series: pd.Series, problems: list[FieldProblem]
) -> npt.NDArray[np.float64]:
    import pandas as pd

    if series.dtype == bool:
        problems.append(FieldProblem(spec.name, "expected a number, got booleans", None))
        return np.full(len(series), np.nan)
    if series.dtype == np.float64:
        values = series.to_numpy()
        not_number = None
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        not_number = np.isnan(values) & ~_missing(series)
    if not_number is not None and not_number.any():
        problems.append(
            _problem(spec, not_number, series.index, series.to_numpy(), "expected a number")
        )
        return values
    with np.errstate(invalid="ignore"):
        if spec.kind == "int":
            fractional = values != np.round(values)  # NaN != NaN: absent cells excluded below
            if fractional.any():
                fractional &= ~np.isnan(values)
                if fractional.any():
                    problems.append(
                        _problem(spec, fractional, series.index, values, "expected a whole number")
                    )
        out_of_range = None
        # NaN compares false both ways, so absent cells never count as out of range
        for bound, bad_side in (
            (spec.ge, np.less),
            (spec.le, np.greater),
            (spec.gt, np.less_equal),
            (spec.lt, np.greater_equal),
        ):
            if bound is not None:
                side = bad_side(values, bound)
                out_of_range = side if out_of_range is None else out_of_range | side
    if out_of_range is not None and out_of_range.any():
        problems.append(
            _problem(spec, out_of_range, series.index, values, MUST_BE(expected=spec.expected))
        )
    return values


_FEW_OBJECTS = 32
"""Up to this many distinct cell objects, each one's first row is found by a scan of the codes."""


def _factorize(series: pd.Series) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """Codes (-1 for an absent cell) and the distinct values, each distinct text once.

    The same codes and distinct values as `pandas.factorize`, found faster on an object column:
    its cells are first grouped by the identity of their object (its `id()`, read as integers
    from the array's buffer: a table read from CSV, JSON or a choice of names holds a handful
    of objects, each in many cells), which hashes integers instead of comparing texts; then
    one object of each group is factorized by value, so that equal texts held by distinct
    objects still share a code, and absent cells (None, NaN, NA) get -1.
    """
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(np.intp)
        return codes, np.asarray(series.cat.categories, dtype=object)
    identity = None
    if series.dtype == object and len(series):
        cells = np.ascontiguousarray(series.to_numpy())
        try:
            identity = np.frombuffer(cells, dtype=np.intp)
        except (TypeError, ValueError, BufferError):  # no buffer to read: factorize by value
            identity = None
    if identity is None:  # numbers, texts of a string dtype, or an empty column
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        return codes.astype(np.intp, copy=False), np.asarray(uniques, dtype=object)
    # `cells` holds every object alive, so no two of them can share an id meanwhile
    by_object, objects = pd.factorize(identity)
    if len(objects) <= _FEW_OBJECTS:
        first = np.array([np.argmax(by_object == k) for k in range(len(objects))], dtype=np.intp)
    else:  # codes are numbered by first appearance: the rows that are not repeats, in order
        first = np.flatnonzero(~pd.Series(by_object).duplicated().to_numpy())
    by_value, values = pd.factorize(cells[first], use_na_sentinel=True)
    return by_value.astype(np.intp, copy=False)[by_object], np.asarray(values, dtype=object)


def _boolean(
    spec: FieldSpec, series: pd.Series, problems: list[FieldProblem]
) -> npt.NDArray[np.bool_]:
    if series.dtype == bool:
        return series.to_numpy()
    default = bool(spec.default) if spec.default is not None else False
    codes, uniques = _factorize(series)
    missing = codes < 0
    if spec.required and missing.any():
        problems.append(
            _problem(spec, missing, series.index, series.to_numpy(), "field required (empty cell)")
        )
    meaning = np.zeros(len(uniques) + 1, dtype=np.int8)  # 1 true, 0 false, -1 not a boolean
    for i, value in enumerate(uniques):
        if isinstance(value, bool | np.bool_):
            meaning[i] = 1 if value else 0
            continue
        text = str(value).strip().lower()
        meaning[i] = 1 if text in _TRUE else 0 if text in _FALSE else -1
    meaning[-1] = 1 if default else 0
    per_row: npt.NDArray[np.int8] = meaning[codes]
    bad = per_row < 0
    if bad.any():
        problems.append(
            _problem(spec, bad, series.index, series.to_numpy(), "expected true or false")
        )
    is_true: npt.NDArray[np.bool_] = per_row == 1
    return is_true


def _enum(spec: FieldSpec, series: pd.Series, problems: list[FieldProblem]) -> npt.NDArray[Any]:
    codes, uniques = _factorize(series)
    missing = codes < 0
    if spec.required and missing.any():
        raw = series.to_numpy(dtype=object)
        problems.append(_problem(spec, missing, series.index, raw, "field required (empty cell)"))
        return raw
    choices = list(spec.choices)
    position = {choice: i for i, choice in enumerate(choices)}
    # each distinct value's code among the choices; -2 marks one that is not a choice
    remap = np.full(len(uniques) + 1, -2, dtype=np.intp)
    for i, value in enumerate(uniques):
        if isinstance(value, str) and value in position:
            remap[i] = position[value]
    remap[-1] = position[spec.default] if spec.default is not None else -1
    choice_codes = remap[codes]
    bad = choice_codes == -2
    if bad.any():
        raw = series.to_numpy(dtype=object)
        problems.append(
            _problem(spec, bad, series.index, raw, MUST_BE_ONE_OF(choices=spec.range_text))
        )
        return raw
    return ChoiceArray(choice_codes, choices)


def _integer_choice(
    spec: FieldSpec, series: pd.Series, problems: list[FieldProblem]
) -> npt.NDArray[np.float64]:
    """Points from a set of integers, as float64 like every number column (NaN if absent)."""
    import pandas as pd

    missing = _missing(series)
    if _is_number_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        is_bool = np.zeros(len(series), dtype=bool)
    else:
        raw = series.to_numpy(dtype=object)
        if series.dtype == bool:
            is_bool = np.ones(len(raw), dtype=bool)
        elif pd.api.types.infer_dtype(raw, skipna=True) in _NO_BOOLEANS:
            is_bool = np.zeros(len(raw), dtype=bool)
        else:  # booleans among the cells: find them (True would otherwise pass as 1)
            is_bool = np.fromiter((isinstance(v, bool | np.bool_) for v in raw), bool, len(raw))
        values = pd.to_numeric(series.where(~is_bool), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    if spec.default is not None:
        values = np.where(missing, float(spec.default), values)
    bad = is_bool | ~np.isin(values, np.asarray(spec.choices, dtype=np.float64))
    if spec.optional and spec.default is None:
        bad &= ~missing
    if spec.required and missing.any():
        problems.append(
            _problem(spec, missing, series.index, series.to_numpy(), "field required (empty cell)")
        )
    elif bad.any():
        problems.append(
            _problem(
                spec, bad, series.index, series.to_numpy(), MUST_BE_ONE_OF(choices=spec.range_text)
            )
        )
    return values


def frame_columns(
    calculator: str,
    specs: list[FieldSpec],
    checks: tuple[Check, ...],
    frame: pd.DataFrame,
) -> tuple[dict[str, npt.NDArray[Any]], list[FieldProblem]]:
    """Validate `frame` against the field specs; return the columns and every problem found."""
    import pandas as pd

    problems: list[FieldProblem] = []
    known = {s.name for s in specs}
    for column in frame.columns:
        if column not in known:
            problems.append(FieldProblem(str(column), "unknown field"))
    n = len(frame)
    cols: dict[str, npt.NDArray[Any]] = {}
    for spec in specs:
        if spec.kind in ("list", "object"):
            problems.append(FieldProblem(spec.name, "cannot be given in a table column"))
            continue
        if spec.name not in frame.columns:
            if spec.required:
                problems.append(FieldProblem(spec.name, "field required"))
                continue
            series = pd.Series([None] * n, index=frame.index, dtype=object)
        else:
            series = frame[spec.name]
        if spec.kind in ("float", "int"):
            values = _numeric(spec, series, problems)
            missing = np.isnan(values)
            if spec.default is not None:
                if missing.any():
                    values = np.where(missing, float(spec.default), values)
            elif not spec.optional and missing.any():
                problems.append(
                    _problem(spec, missing, frame.index, values, "field required (empty cell)")
                )
            cols[spec.name] = values
        elif spec.kind == "bool":
            cols[spec.name] = _boolean(spec, series, problems)
        elif all(type(c) is int for c in spec.choices):
            cols[spec.name] = _integer_choice(spec, series, problems)
        else:
            cols[spec.name] = _enum(spec, series, problems)
    if problems:
        return cols, problems
    for check in checks:
        bad = np.broadcast_to(np.asarray(check.violated(cols), dtype=bool), (n,))
        if bad.any():
            count = int(bad.sum())
            problems.append(
                FieldProblem(
                    check.field,
                    check.message + (f" ({count} rows)" if count > 1 else ""),
                    row=_row_label(frame.index, int(np.flatnonzero(bad)[0])),
                )
            )
    return cols, problems
