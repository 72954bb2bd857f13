"""A center's own lab codes mapped to the catalogue, as data (a TOML file), never guessed.

Laboratory systems send their local test codes (``CRP-S``, ``K0012``); neurocart stores
LOINC or its local catalogue codes. The site writes the map once:

    # lis-codes.toml
    [codes."CRP-S"]            # the local code as the LIS sends it (HL7 OBX-3.1, FHIR coding)
    loinc = "1988-5"           # or: key = "crp" (a catalogue key), or local = "local:nfl_serum"
    unit = "mg/L"              # the unit to assume when the message carries none
    specimen = "serum"         # optional: blood, serum, csf or other

    [answers]                  # qualitative results → 1 (positive) / 0 (negative)
    POS = 1
    NEG = 0

A code in neither the catalogue nor this map is refused with the code in the message, and
the refusals are listed (`neurocart hl7 unmapped`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from neurocart.ingest import LOCAL, LOINC, Specimen, by_key, lookup
from neurocart.ingest.errors import UnknownCodeError


@dataclass(frozen=True)
class MappedCode:
    """Where a local code lands: a catalogue (code, system), an assumed unit and specimen."""

    code: str
    system: str
    unit: str | None = None
    specimen: Specimen | None = None


DEFAULT_ANSWERS: Mapping[str, float] = MappingProxyType(
    {
        "LA6576-8": 1.0,  # LOINC answer "Positive"
        "LA6577-6": 0.0,  # LOINC answer "Negative"
        "POS": 1.0,
        "NEG": 0.0,
        "POSITIVE": 1.0,
        "NEGATIVE": 0.0,
        "DETECTED": 1.0,
        "NOT DETECTED": 0.0,
        "REACTIVE": 1.0,
        "NONREACTIVE": 0.0,
        "NON-REACTIVE": 0.0,
    }
)
"""Qualitative answers every site gets (LOINC answer list LL3639-3 and the plain words)."""


CODES_NOT_A_TABLE = "{where}: [codes] must be a table"
CODE_NOT_A_TABLE = "{where}: codes.{local} must be a table"
ANSWERS_NOT_A_TABLE = "{where}: [answers] must be a table"
ANSWER_NOT_0_OR_1 = "{where}: answers.{word} must be 0 or 1, got {value}"
ONE_TARGET = "{where}: codes.{local} needs exactly one of loinc, key, local"
NOT_IN_CATALOGUE = "{where}: codes.{local}.{name} = {target} is not in the catalogue"
UNIT_NOT_CONVERTIBLE = "{where}: codes.{local}.unit {unit} cannot be converted to {canonical}"
UNKNOWN_SPECIMEN = "{where}: codes.{local}.specimen {specimen} is unknown"
MESSAGES = (
    CODES_NOT_A_TABLE, CODE_NOT_A_TABLE, ANSWERS_NOT_A_TABLE, ANSWER_NOT_0_OR_1, ONE_TARGET,
    NOT_IN_CATALOGUE, UNIT_NOT_CONVERTIBLE, UNKNOWN_SPECIMEN,
)  # fmt: skip
"""A code map's faults as message keys with named fields (like
`neurocart.store.errors.MESSAGES`): the command line says them in its reader's language."""


class CodeMapError(ValueError):
    """A code map file that cannot be used; names the entry at fault."""


@dataclass(frozen=True)
class CodeMap:
    """Local code → catalogue entry, plus qualitative answers."""

    codes: Mapping[str, MappedCode] = field(default_factory=dict)
    answers: Mapping[str, float] = field(default_factory=lambda: DEFAULT_ANSWERS)

    @classmethod
    def load(cls, path: Path | str) -> CodeMap:
        """Read and check a map file (every target must be in the catalogue)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CodeMapError(f"{path}: {exc}") from None
        return cls.from_mapping(data, where=str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], *, where: str = "code map") -> CodeMap:
        codes: dict[str, MappedCode] = {}
        raw_codes = data.get("codes", {})
        if not isinstance(raw_codes, Mapping):
            raise CodeMapError(CODES_NOT_A_TABLE.format(where=where))
        for local, entry in raw_codes.items():
            if not isinstance(entry, Mapping):
                raise CodeMapError(CODE_NOT_A_TABLE.format(where=where, local=local))
            codes[str(local)] = _target(str(local), entry, where)
        answers = dict(DEFAULT_ANSWERS)
        raw_answers = data.get("answers", {})
        if not isinstance(raw_answers, Mapping):
            raise CodeMapError(ANSWERS_NOT_A_TABLE.format(where=where))
        for word, value in raw_answers.items():
            if value not in (0, 1) or isinstance(value, bool):
                raise CodeMapError(
                    ANSWER_NOT_0_OR_1.format(where=where, word=word, value=repr(value))
                )
            answers[str(word).upper()] = float(value)
        return cls(MappingProxyType(codes), MappingProxyType(answers))

    def resolve(self, code: str, system: str | None) -> MappedCode | None:
        """The catalogue code for (code, system): LOINC and neurocart codes as they are,
        anything else through the map; None when unmapped."""
        if system in (LOINC, "LN", None):
            try:
                entry = lookup(code, LOINC)
                return MappedCode(entry.code, entry.system)
            except UnknownCodeError:
                pass
        if system in (LOCAL, None) or code.startswith("local:"):
            try:
                entry = lookup(code, LOCAL)
                return MappedCode(entry.code, entry.system)
            except UnknownCodeError:
                pass
        return self.codes.get(code)

    def answer(self, text: str) -> float | None:
        """1 (positive), 0 (negative), or None for a word the map does not know."""
        return self.answers.get(text.strip().upper())


def _target(local: str, entry: Mapping[str, object], where: str) -> MappedCode:
    given = [k for k in ("loinc", "key", "local") if k in entry]
    if len(given) != 1:
        raise CodeMapError(ONE_TARGET.format(where=where, local=local))
    name = given[0]
    target = str(entry[name])
    try:
        if name == "key":
            found = by_key(target)
        else:
            found = lookup(target, LOINC if name == "loinc" else LOCAL)
    except (KeyError, UnknownCodeError):
        raise CodeMapError(
            NOT_IN_CATALOGUE.format(where=where, local=local, name=name, target=repr(target))
        ) from None
    unit = entry.get("unit")
    if unit is not None and found.units.find(str(unit)) is None:
        raise CodeMapError(
            UNIT_NOT_CONVERTIBLE.format(
                where=where, local=local, unit=repr(unit), canonical=found.unit
            )
        )
    specimen = entry.get("specimen")
    try:
        parsed = None if specimen is None else Specimen(str(specimen))
    except ValueError:
        raise CodeMapError(
            UNKNOWN_SPECIMEN.format(where=where, local=local, specimen=repr(specimen))
        ) from None
    return MappedCode(found.code, found.system, None if unit is None else str(unit), parsed)
