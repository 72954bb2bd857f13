"""Unit conversion to canonical SI units, done once, at ingest.

Every observation code has one canonical unit (see `codes.py`); whatever unit a feed, form or
CSV used is converted here and the original is never stored as the value. Why once: a value
that is converted in several places is eventually converted twice or not at all, and a CRP of
"12" means 12 mg/L or 120 mg/L depending on who last touched it.

How units are matched: `unit_key` folds the spellings a lab system actually sends into one key
— Unicode normalization (``℃``, ``mm³``, the micro sign versus Greek mu), case, spaces,
``mcg``/``ug`` for µg, the exponent spellings of ``×10⁹/L`` (``10^9/L``, ``10*9/L``,
``10E9/L``, ``x10⁹/L``), UCUM forms (``Cel``, ``[degF]``, ``mm[Hg]``, ``{beats}/min``).
Folding case is safe because each code has its own table, and within one table no two units
differ only by case (``G/L`` giga-cells and ``g/L`` grams never share a table; `build_table`
refuses a collision).

How tables are built: mass and molar concentrations are generated from SI prefixes, so every
dimensionally correct spelling (``mg/dL``, ``µg/mL``, ``g/dL`` ...) converts by the same rule;
a mass ↔ molar bridge needs the analyte's molar mass, given per analyte in `codes.py` as one
anchor ("1 mg/dL creatinine = 88.42 µmol/L") from which every other mass unit follows. Counts,
temperatures, pressures, rates and activities are short explicit tables: a clinician auditing
the list should see every accepted spelling.

A conversion is affine: ``canonical = (value + offset) × factor`` (offset is only non-zero for
°F and K). Converted values are rounded to 12 significant digits so that 100.4 °F is stored
as 38.0 °C rather than 38.00000000000001 °C; that is far below any instrument's resolution.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

SIGNIFICANT_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Conversion:
    """``canonical = (value + offset) × factor`` from `unit` (as spelled here) to `canonical`."""

    unit: str
    canonical: str
    factor: float
    offset: float = 0.0
    common: bool = True
    """Listed in error messages as an accepted unit (generated prefix combinations are not)."""

    @property
    def is_identity(self) -> bool:
        return self.factor == 1.0 and self.offset == 0.0

    def to_canonical(self, value: float) -> float:
        if self.is_identity:
            return value
        return _round((value + self.offset) * self.factor)

    def from_canonical(self, value: float) -> float:
        """The inverse, for display in a unit the user prefers and for round-trip tests."""
        if self.is_identity:
            return value
        return _round(value / self.factor - self.offset)


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


_EXPONENT = re.compile(r"^x?10[\^*e]?([369])(?=/)")


def unit_key(unit: str) -> str:
    """The matching key of a unit spelling (see the module docstring for what is folded)."""
    s = unicodedata.normalize("NFKC", unit).lower()
    s = "".join(s.split())
    s = s.replace("μ", "u").replace("µ", "u").replace("mcg", "ug").replace("×", "x")
    s = s.replace("mm^3", "mm3")
    return _EXPONENT.sub(r"10^\1", s)


_key = lru_cache(maxsize=2048)(unit_key)


# --- generated families -------------------------------------------------------------------

MASS = {"g": 1.0, "mg": 1e-3, "µg": 1e-6, "ng": 1e-9, "pg": 1e-12}
MOLES = {"mol": 1.0, "mmol": 1e-3, "µmol": 1e-6, "nmol": 1e-9, "pmol": 1e-12}
VOLUME = {"L": 1.0, "dL": 0.1, "mL": 1e-3, "µL": 1e-6}
_COMMON_CONCENTRATIONS = frozenset(
    {"g/L", "g/dL", "mg/L", "mg/dL", "mg/mL", "µg/L", "µg/mL", "ng/L", "ng/mL", "pg/mL",
     "mmol/L", "µmol/L", "nmol/L", "pmol/L"}
)  # fmt: skip


def _split(unit: str) -> tuple[dict[str, float], float] | None:
    """(the prefix family, size in base units) of a ``<amount>/<volume>`` unit, if it is one."""
    if unit.count("/") != 1:
        return None
    amount, volume = unit.split("/")
    for family in (MASS, MOLES):
        if amount in family and volume in VOLUME:
            return family, family[amount] / VOLUME[volume]
    return None


def _concentrations(
    canonical: str, anchor: str | None = None, anchor_factor: float = 1.0
) -> list[Conversion]:
    """Every amount/volume spelling of the family of `anchor` (default: the canonical's own).

    ``1 <anchor> = anchor_factor <canonical>``; other units scale by their SI prefixes.
    """
    source = canonical if anchor is None else anchor
    split = _split(source)
    if split is None:
        raise ValueError(f"{source!r} is not an amount/volume unit")
    family, anchor_size = split
    out = []
    for amount, amount_size in family.items():
        for volume, volume_size in VOLUME.items():
            unit = f"{amount}/{volume}"
            factor = anchor_factor * (amount_size / volume_size) / anchor_size
            out.append(Conversion(unit, canonical, factor, common=unit in _COMMON_CONCENTRATIONS))
    return out


# --- explicit families ----------------------------------------------------------------------


def _same(canonical: str, *spellings: str) -> list[Conversion]:
    return [Conversion(s, canonical, 1.0) for s in (canonical, *spellings)]


def _scaled(canonical: str, factor: float, *spellings: str) -> list[Conversion]:
    return [Conversion(s, canonical, factor) for s in spellings]


TEMPERATURE = [
    *_same("°C", "Cel", "C", "degC", "deg C", "celsius"),
    *(Conversion(s, "°C", 5 / 9, -32.0) for s in ("°F", "[degF]", "F", "degF", "fahrenheit")),
    Conversion("K", "°C", 1.0, -273.15),
]
PER_MINUTE = _same("/min", "1/min", "min-1", "/minute", "per min")
BEATS = (("bpm", 1.0), ("beats/min", 1.0), ("{beats}/min", 1.0))
"""Heart-rate-only spellings, added by the heart rate code (a respiratory rate is not in bpm)."""
BREATHS = (("breaths/min", 1.0), ("{breaths}/min", 1.0))
PRESSURE = [*_same("mmHg", "mm[Hg]", "torr"), Conversion("kPa", "mmHg", 760 / 101.325)]
PERCENT = _same("%", "percent")
ENZYME = [
    *_same("U/L", "IU/L", "[IU]/L", "units/L"),
    *_scaled("U/L", 60.0, "µkat/L"),  # 1 U = 1 µmol/min = 1/60 µkat, so 1 µkat/L = 60 U/L
    *_scaled("U/L", 0.06, "nkat/L"),
    *_scaled("U/L", 1000.0, "U/mL", "IU/mL", "kU/L"),
]
COUNT_10E9_L = [
    *_same("×10⁹/L", "10^9/L", "10*9/L", "10E9/L", "x10^9/L", "G/L", "/nL", "10^3/µL",
           "10*3/uL", "x10^3/µL", "K/µL", "thou/µL", "10^3/mm3", "10^6/mL"),
    *_scaled("×10⁹/L", 1e-3, "/µL", "cells/µL", "/mm3", "cells/mm3", "/mm³", "cells/mm³"),
    *_scaled("×10⁹/L", 1e-6, "/mL", "cells/mL"),
]  # fmt: skip
CELLS_PER_UL = [
    *_same("cells/µL", "/µL", "/mm3", "cells/mm3", "/mm³", "cells/mm³"),
    *_scaled("cells/µL", 1e3, "×10⁹/L", "10^9/L", "10*9/L", "G/L", "/nL", "10^3/µL"),
    *_scaled("cells/µL", 1e-3, "/mL", "cells/mL"),
]
COPIES_PER_UG_DNA = [
    *_same("copies/µg DNA", "copies/µg", "copies/µg gDNA", "copies/ug DNA", "{copies}/ug"),
    *_scaled("copies/µg DNA", 1e3, "copies/ng DNA", "copies/ng", "copies/ng gDNA"),
]
TITER = _same("titer", "{titer}", "1/dilution", "dilution")
"""Antibody titres as the reciprocal of the highest positive dilution: 1:160 → 160."""
RESULT = _same("{result}", "result", "{presence}", "{pos/neg}")
"""Qualitative results (serology, IGRA, pregnancy test): 0 = negative, 1 = positive."""
INTERNATIONAL_UNITS_PER_ML = [
    *_same("IU/mL", "[IU]/mL"),
    *_scaled("IU/mL", 1e-3, "IU/L", "[IU]/L"),
    *_scaled("IU/mL", 1e3, "10^3 IU/mL", "10*3.[IU]/mL"),
]
"""Viral loads in WHO international units. copies/mL is refused: the copies-to-IU factor
depends on the assay, so a lab must report IU (or the center converts with its assay's factor).
No kIU/MIU spellings: the unit key folds case, and mIU/mL (milli) must never read as MIU/mL."""
FLOW = [*_same("L/min", "LPM"), *_scaled("L/min", 1e-3, "mL/min")]
"""Oxygen flow."""
QUOTIENT_E3 = [
    *_same("×10⁻³", "10^-3", "10*-3", "x10^-3", "E-3", "1/1000", "‰"),
    *_scaled("×10⁻³", 1e3, "{ratio}", "ratio", "1"),
]
"""CSF/serum quotients (Qalb) as reported by laboratories, × 10³: 6.25 means 6.25 × 10⁻³. A plain
ratio (0.00625) is accepted only when spelled as a ratio, and multiplied by 1000."""
INDEX = _same("{index}", "index", "{ratio}", "ratio", "1")
"""Dimensionless indices (IgG index, κFLC index)."""
BANDS = _same("{bands}", "bands", "{#}", "#")
"""A count of oligoclonal bands."""
CODED = _same("{type}", "type", "{pattern}", "{region}")
"""A coded result whose values are the only ones allowed (OCB pattern type, Reibergram region)."""
SECONDS = [*_same("s", "sec", "second", "seconds"), *_scaled("s", 60.0, "min", "minutes")]
"""Timed performance tests (25-foot walk, 9-hole peg test)."""
SCORE = _same("{score}", "score", "points", "{points}", "{correct}")
"""Instrument scores as integers in their own scale (SDMT correct responses, I-RODS centile)."""
ARBITRARY_UNITS = _same("{units}", "units", "U", "CU", "AU/mL", "U/mL")
"""Assay-specific arbitrary units (HMGCR antibodies: CU, ELISA units, AU/mL): never converted,
and never compared across assays."""

EXPLICIT: Mapping[str, list[Conversion]] = MappingProxyType(
    {
        "°C": TEMPERATURE,
        "/min": PER_MINUTE,
        "mmHg": PRESSURE,
        "%": PERCENT,
        "U/L": ENZYME,
        "×10⁹/L": COUNT_10E9_L,
        "cells/µL": CELLS_PER_UL,
        "copies/µg DNA": COPIES_PER_UG_DNA,
        "titer": TITER,
        "{result}": RESULT,
        "IU/mL": INTERNATIONAL_UNITS_PER_ML,
        "L/min": FLOW,
        "×10⁻³": QUOTIENT_E3,
        "{index}": INDEX,
        "{bands}": BANDS,
        "{type}": CODED,
        "s": SECONDS,
        "{score}": SCORE,
        "{units}": ARBITRARY_UNITS,
    }
)


@dataclass(frozen=True, slots=True)
class UnitTable:
    """The units one code accepts: exact spellings first, then folded keys."""

    canonical: str
    exact: Mapping[str, Conversion]
    folded: Mapping[str, Conversion]

    def find(self, unit: str) -> Conversion | None:
        """The conversion for `unit`, or None when this code cannot take that unit."""
        found = self.exact.get(unit)
        if found is None:
            found = self.folded.get(_key(unit))
        return found

    @property
    def accepted(self) -> list[str]:
        """The common spellings, canonical first, for error messages and docs."""
        seen = [self.canonical]
        for c in self.exact.values():
            if c.common and c.unit not in seen:
                seen.append(c.unit)
        return seen


def build_table(canonical: str, bridges: Iterable[tuple[str, float]] = ()) -> UnitTable:
    """The unit table for a code whose canonical unit is `canonical`.

    `bridges`: ``(unit, factor)`` pairs meaning ``1 unit = factor canonical`` that cross a
    dimension (mass ↔ molar, given the analyte's molar mass) or add a one-off spelling; an
    amount/volume bridge brings its whole prefix family.
    """
    conversions = list(EXPLICIT[canonical]) if canonical in EXPLICIT else []
    if _split(canonical) is not None:
        conversions += _concentrations(canonical)
    if not conversions:
        raise ValueError(f"no conversions known for canonical unit {canonical!r}")
    for unit, factor in bridges:
        if _split(unit) is not None:
            conversions += _concentrations(canonical, unit, factor)
        else:
            conversions.append(Conversion(unit, canonical, factor))
    exact: dict[str, Conversion] = {}
    folded: dict[str, Conversion] = {}
    for c in conversions:
        exact.setdefault(c.unit, c)
        key = unit_key(c.unit)
        other = folded.setdefault(key, c)
        if (other.factor, other.offset) != (c.factor, c.offset) and not _close(other, c):
            raise ValueError(
                f"unit table for {canonical}: {other.unit!r} and {c.unit!r} share the key "
                f"{key!r} but convert differently"
            )
    return UnitTable(canonical, MappingProxyType(exact), MappingProxyType(folded))


def _close(a: Conversion, b: Conversion) -> bool:
    return a.offset == b.offset and abs(a.factor - b.factor) <= 1e-12 * abs(a.factor)
