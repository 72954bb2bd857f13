"""Normalize incoming observations: the one place a raw value becomes a storable fact.

    normalize_observation(ObservationIn(code="8310-5", value=101.3, unit="°F", ...))
    → NormalizedObservation(code="8310-5", value=38.5, unit="°C", specimen="other", ...)

Every face (API, CSV import, FHIR, simulator) calls this before the store, so the rules are
applied once: the code must be in the catalogue, the unit convertible to the code's canonical
unit, the converted value inside the physiologically possible range, the specimen one the code
is measured in, and the effective time timezone-aware (it is stored in UTC). The first failed
rule raises an ObservationError subclass naming the field (`code`, `code_system`, `unit`,
`value`, `specimen`, `effective_at`); the checks run in that order, so a message about the
value always refers to a known code and a known unit.

`normalize_batch` is what the batch endpoint and the ingest benchmark call: it never raises for
a bad row, it returns the normalized rows and a list of errors with the row index, so a client
sees every problem of a 10,000-row upload at once. Speed comes from the catalogue's
precomputed per-code unit tables and a cached unit-key fold, resolving each (code, system,
unit) once per batch, and a tuple for the result; no pydantic validation runs for rows that
are already ObservationIn models. A batch of valid ObservationIn rows is normalized column by
column (`_normalize_models`); any failure sends it down the row-by-row path, which names every
error, so both give the same result (tests hold them to it). `normalize_columns` is the same
batch handed over column by column (`NormalizedColumns`), as the store writes it: the column
path then never builds a tuple per row for the store to take apart again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from itertools import repeat
from operator import attrgetter, is_, itemgetter
from typing import Any, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from neurocart.ingest.codes import LOINC, ObservationCode, Specimen, lookup, number
from neurocart.ingest.errors import (
    BINARY_VALUE,
    CODED_VALUE,
    FINITE,
    NEEDS_ZONE,
    NOT_A_BOOLEAN,
    NOT_AN_OBJECT,
    NOT_CONVERTIBLE,
    OUT_OF_DATES,
    OUTSIDE_RANGE,
    UNKNOWN_FIELD,
    WRONG_SPECIMEN,
    EffectiveTimeError,
    ImpossibleValueError,
    ObservationError,
    RowError,
    SpecimenError,
    UnitError,
)
from neurocart.ingest.units import Conversion


class ObservationIn(BaseModel):
    """One observation as it arrives, in whatever unit the source used."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64, description="LOINC or neurocart local code")
    code_system: str = Field(default=LOINC, min_length=1, max_length=64)
    value: float = Field(allow_inf_nan=False, description="the number, in `unit`")
    unit: str = Field(min_length=1, max_length=32, description="e.g. °C, °F, mg/dL, /µL")
    specimen: Specimen | None = Field(
        default=None, description="blood, csf, serum or other; omitted: the code's default"
    )
    effective_at: AwareDatetime = Field(description="when measured or sampled, with time zone")
    source: str = Field(min_length=1, max_length=64, description="device, lab feed, form ...")
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("value", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(NOT_A_BOOLEAN)
        return value


class NormalizedObservation(NamedTuple):
    """An observation in its canonical unit, ready for the store (add the patient and user).

    Immutable; a named tuple because a batch builds one per row (a frozen dataclass costs
    several times more to construct).
    """

    code: str
    code_system: str
    value: float
    unit: str
    specimen: Specimen
    effective_at: datetime
    """UTC."""
    source: str
    note: str | None
    original_value: float
    original_unit: str

    def store_fields(self) -> dict[str, Any]:
        """The fields neurocart.store.repo.ObservationIn takes (add `patient_id`)."""
        return {
            "code": self.code,
            "code_system": self.code_system,
            "value": self.value,
            "unit": self.unit,
            "specimen": self.specimen.value,
            "effective_at": self.effective_at,
            "source": self.source,
            "note": self.note,
        }


def normalize_observation(raw: ObservationIn) -> NormalizedObservation:
    """`raw` converted and checked; raises an ObservationError subclass naming the field."""
    return _normalize(raw, *_resolve(raw.code, raw.code_system, raw.unit))


def _resolve(code: str, system: str, unit: str) -> tuple[ObservationCode, Conversion]:
    """The catalogue entry and the unit conversion (the `code`, `code_system`, `unit` rules)."""
    entry = lookup(code, system)
    conversion = entry.units.find(unit)
    if conversion is None:
        accepted = ", ".join(entry.units.accepted)
        raise UnitError(
            "unit",
            NOT_CONVERTIBLE.format(unit=entry.unit, accepted=accepted, **_name(entry)),
            unit,
        )
    return entry, conversion


def _normalize(
    raw: ObservationIn, entry: ObservationCode, conversion: Conversion
) -> NormalizedObservation:
    """The `value`, `specimen` and `effective_at` rules, once the code and unit resolved."""
    value = raw.value
    if not math.isfinite(value):
        raise ImpossibleValueError("value", FINITE, value)
    canonical = conversion.to_canonical(value)
    if entry.values and canonical not in entry.values:
        allowed = " or ".join(number(v) for v in entry.values)
        # a qualitative result says what its two codes mean; a pattern type (1–5) does not
        said = BINARY_VALUE if set(entry.values) == {0, 1} else CODED_VALUE
        message = said.format(alternatives=allowed, **_name(entry))
        raise ImpossibleValueError("value", message, value)
    if not entry.low <= canonical <= entry.high:
        shown = f"{number(value)} {raw.unit}"
        if not conversion.is_identity:
            shown += f" = {number(canonical)} {entry.unit}"
        raise ImpossibleValueError(
            "value",
            OUTSIDE_RANGE.format(shown=shown, range=entry.range_text(), **_name(entry)),
            value,
        )
    specimen = entry.specimens[0] if raw.specimen is None else raw.specimen
    if specimen not in entry.specimens:
        allowed = ", ".join(s.value for s in entry.specimens)
        raise SpecimenError(
            "specimen",
            WRONG_SPECIMEN.format(specimen=specimen, allowed=allowed, **_name(entry)),
            str(specimen),
        )
    at = raw.effective_at
    if at.tzinfo is not UTC:  # already UTC: nothing to check or convert
        if at.tzinfo is None or at.utcoffset() is None:
            raise EffectiveTimeError("effective_at", NEEDS_ZONE, str(at))
        try:
            at = at.astimezone(UTC)
        except OverflowError:
            raise EffectiveTimeError("effective_at", OUT_OF_DATES, str(at)) from None
    return NormalizedObservation(
        raw.code,
        raw.code_system,
        canonical,
        entry.unit,
        specimen,
        at,
        raw.source,
        raw.note,
        value,
        raw.unit,
    )


def _name(entry: ObservationCode) -> dict[str, str]:
    """The fields that name a code in a message: "Body temperature (8310-5)"."""
    return {"display": entry.display, "code": entry.code}


class BatchResult(NamedTuple):
    """`normalized` keeps input order without the rejected rows; `errors` name their row."""

    normalized: list[NormalizedObservation]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected(self) -> list[int]:
        """Indices of the rows that produced at least one error, ascending."""
        return sorted({e.index for e in self.errors})


@dataclass(frozen=True, slots=True)
class NormalizedColumns:
    """A batch of NormalizedObservation column by column: field name → the rows' values.

    What the store's column-wise batch write takes (neurocart.store.repo's ObservationColumns),
    so a batch normalized column by column is never turned into tuples and back. `len` is the
    number of rows; `rows()` gives the NormalizedObservation list.
    """

    code: Sequence[str]
    code_system: Sequence[str]
    value: Sequence[float]
    unit: Sequence[str]
    specimen: Sequence[Specimen]
    effective_at: Sequence[datetime]
    source: Sequence[str]
    note: Sequence[str | None]
    original_value: Sequence[float]
    original_unit: Sequence[str]

    def __len__(self) -> int:
        return len(self.code)

    def rows(self) -> list[NormalizedObservation]:
        return list(map(_make, zip(*_columns(self), strict=True)))

    @classmethod
    def from_rows(cls, rows: Sequence[NormalizedObservation]) -> NormalizedColumns:
        if not rows:
            return cls(*([] for _ in NormalizedObservation._fields))
        return cls(*zip(*rows, strict=True))


def _columns(batch: NormalizedColumns) -> tuple[Sequence[Any], ...]:
    return tuple(getattr(batch, name) for name in NormalizedObservation._fields)


def normalize_batch(rows: Sequence[ObservationIn | Mapping[str, Any]]) -> BatchResult:
    """Normalize every row; never raises for a bad row. Unpacks as ``(normalized, errors)``.

    Rows may be ObservationIn models (fast path) or mappings, which are validated here so that
    a malformed row becomes a RowError for that row rather than failing the whole batch. A row
    that is neither is reported at field "(row)". Size limits are the caller's
    (Settings.max_batch_observations, enforced again by the store).
    """
    fast = _normalize_models(rows)
    return _normalize_rows(rows) if fast is None else BatchResult(fast.rows(), [])


def normalize_columns(
    rows: Sequence[ObservationIn | Mapping[str, Any]],
) -> tuple[NormalizedColumns, list[RowError]]:
    """`normalize_batch` with the normalized rows column by column: ``(columns, errors)``.

    For a writer that stores columns (neurocart.store.repo.add_patient_observation_columns);
    equal to `NormalizedColumns.from_rows` of `normalize_batch`'s rows (a test holds it to it).
    """
    fast = _normalize_models(rows)
    if fast is not None:
        return fast, []
    normalized, errors = _normalize_rows(rows)
    return NormalizedColumns.from_rows(normalized), errors


def _normalize_rows(rows: Sequence[ObservationIn | Mapping[str, Any]]) -> BatchResult:
    """The row-by-row path: every row on its own, every error named."""
    normalized: list[NormalizedObservation] = []
    errors: list[RowError] = []
    append = normalized.append
    resolved: dict[tuple[str, str, str], tuple[ObservationCode, Conversion]] = {}
    for index, row in enumerate(rows):
        try:
            if not isinstance(row, ObservationIn):
                row = _parse(row)
            key = (row.code, row.code_system, row.unit)
            found = resolved.get(key)
            if found is None:
                found = resolved[key] = _resolve(*key)
            append(_normalize(row, *found))
        except ObservationError as exc:
            errors.append(RowError(index, exc.field, exc.message, exc.got))
        except ValidationError as exc:
            errors.extend(_row_errors(index, exc))
        except TypeError as exc:
            errors.append(RowError(index, "(row)", str(exc)))
    return BatchResult(normalized, errors)


_FIELD_NAMES = (
    "code", "code_system", "value", "unit", "specimen", "effective_at", "source", "note",
)  # fmt: skip
_FIELDS = tuple(map(itemgetter, _FIELD_NAMES))
"""Getters of an ObservationIn's fields from its __dict__ (faster than attribute access), in
the order `_normalize_models` unpacks them (a test holds the names to the model's fields)."""
_make = partial(tuple.__new__, NormalizedObservation)
_TZINFO = attrgetter("tzinfo")


def _normalize_models(
    rows: Sequence[ObservationIn | Mapping[str, Any]],
) -> NormalizedColumns | None:
    """`normalize_batch` of valid ObservationIn rows, column by column; None if any row fails
    or is not an ObservationIn.

    The rules are applied once per distinct (code, system, unit) or once per column in C
    (`all`, `map`, comprehensions) instead of row by row; the result is exactly the row-by-row
    one (the same `_resolve` and `Conversion.to_canonical`). On any failure the caller runs the
    row-by-row path, which finds and names every error.
    """
    if not rows:
        return NormalizedColumns.from_rows([])
    kinds = set(map(type, rows))
    if len(kinds) != 1 or not issubclass(kinds.pop(), ObservationIn):
        return None
    try:
        dicts = list(map(vars, rows))
        codes, systems, values, units, specimens, times, sources, notes = (
            list(map(field, dicts)) for field in _FIELDS
        )
        if not all(map(math.isfinite, values)):
            return None
        keys = list(zip(codes, systems, units, strict=True))
        plans = {key: _plan(*key) for key in set(keys)}
        per_row = list(map(plans.__getitem__, keys))
        canonical = [
            v if p.convert is None else p.convert(v) for v, p in zip(values, per_row, strict=True)
        ]
        if not all(p.low <= c <= p.high for c, p in zip(canonical, per_row, strict=True)):
            return None
        if any(p.values for p in plans.values()) and not all(
            not p.values or c in p.values for c, p in zip(canonical, per_row, strict=True)
        ):
            return None
        chosen = [p.default if s is None else s for s, p in zip(specimens, per_row, strict=True)]
        if not all(s in plans[key].specimens for key, s in set(zip(keys, chosen, strict=True))):
            return None
        utc = (
            times  # the common case: all already UTC (`is`: an equal zero offset is not)
            if all(map(is_, map(_TZINFO, times), repeat(UTC)))
            else [t if t.tzinfo is UTC else _utc(t) for t in times]
        )
        canonical_units = [p.unit for p in per_row]
    except (ObservationError, ArithmeticError, LookupError, TypeError, ValueError):
        return None
    return NormalizedColumns(
        codes, systems, canonical, canonical_units, chosen, utc, sources, notes, values, units
    )


class _Plan(NamedTuple):
    """What a batch needs of one (code, system, unit): resolved once."""

    convert: Callable[[float], float] | None
    """None for the identity."""
    unit: str
    low: float
    high: float
    values: tuple[float, ...]
    default: Specimen
    specimens: frozenset[Specimen]


@lru_cache(maxsize=1024)
def _plan(code: str, system: str, unit: str) -> _Plan:
    """The plan of a (code, system, unit); raises as `_resolve` does. Cached: the catalogue is
    fixed, and a batch of 1,000 rows has a dozen distinct keys.
    """
    entry, conversion = _resolve(code, system, unit)
    return _Plan(
        None if conversion.is_identity else conversion.to_canonical,
        entry.unit,
        entry.low,
        entry.high,
        tuple(entry.values or ()),
        entry.specimens[0],
        frozenset(entry.specimens),
    )


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive")
    return at.astimezone(UTC)


def _parse(row: object) -> ObservationIn:
    if not isinstance(row, Mapping):
        raise TypeError(NOT_AN_OBJECT.format(kind=type(row).__name__))
    return ObservationIn.model_validate(row)


def _row_errors(index: int, error: ValidationError) -> list[RowError]:
    out = []
    for e in error.errors(include_url=False):
        field = ".".join(str(x) for x in e["loc"]) or "(row)"
        message = e["msg"].removeprefix("Value error, ")
        kind = e["type"]
        if kind == "extra_forbidden":
            message = UNKNOWN_FIELD
        got = None if kind in {"missing", "extra_forbidden"} else e.get("input")
        out.append(RowError(index, field, message, got))
    return out
