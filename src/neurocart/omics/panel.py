"""The marker panel: cell types (with their lineage) and phenotype gene sets, from TOML.

The shipped panel (``panels/default.toml``) names its sources at the top; a center edits a
copy and passes its path. Pure: no scanpy.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from neurocart.omics import errors as msg
from neurocart.omics.errors import OmicsInputError
from neurocart.omics.samplesheet import NO_FILE

LINEAGES = ("T", "NK", "B", "plasma", "myeloid", "dendritic", "contaminant")
UNASSIGNED = "unassigned"


@dataclass(frozen=True, slots=True)
class CellType:
    """A cell type the panel scores, with its lineage, marker genes and their source."""

    name: str
    lineage: str
    markers: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Phenotype:
    """A gene set scored on every cell (for example exhaustion), with its source."""

    name: str
    genes: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Panel:
    """A marker panel: the cell types to annotate, the phenotypes to score, and the score below
    which a cell stays unassigned.
    """

    name: str
    cell_types: tuple[CellType, ...]
    phenotypes: tuple[Phenotype, ...]
    min_score: float = 0.5
    path: str = ""

    def lineage_of(self) -> dict[str, str]:
        """Cell type name → lineage (``unassigned`` → ``unassigned``)."""
        out = {c.name: c.lineage for c in self.cell_types}
        out[UNASSIGNED] = UNASSIGNED
        return out

    def genes(self) -> list[str]:
        """Every gene the panel names, once, in panel order."""
        names = [g for c in self.cell_types for g in c.markers]
        names += [g for p in self.phenotypes for g in p.genes]
        return list(dict.fromkeys(names))


def load_panel(path: str | Path | None = None) -> Panel:
    """The panel in `path`, or the shipped default; OmicsInputError naming the entry if bad."""
    if path is None:
        text = resources.files("neurocart.omics").joinpath("panels/default.toml").read_text()
        where = "panel (default)"
    else:
        p = Path(path)
        if not p.is_file():
            raise OmicsInputError("panel", NO_FILE.format(path=p))
        text = p.read_text(encoding="utf-8")
        where = f"panel {p.name}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OmicsInputError(where, msg.NOT_TOML.format(error=exc)) from None
    return _parse(data, where, str(path or "default"))


def _parse(data: dict[str, Any], where: str, path: str) -> Panel:
    head = data.get("panel", {})
    types = []
    for i, entry in enumerate(data.get("cell_type", [])):
        at = f"{where}: cell_type[{i}]"
        name = _text(entry, "name", at)
        lineage = _text(entry, "lineage", at)
        if lineage not in LINEAGES:
            raise OmicsInputError(
                f"{at}.lineage", msg.NOT_A_LINEAGE.format(typed=repr(lineage), lineages=LINEAGES)
            )
        types.append(
            CellType(name, lineage, _genes(entry, "markers", at), _text(entry, "source", at))
        )
    if not types:
        raise OmicsInputError(where, msg.NO_CELL_TYPE)
    names = [t.name for t in types]
    if len(set(names)) != len(names) or UNASSIGNED in names:
        raise OmicsInputError(where, msg.UNIQUE_NAMES)
    phenotypes = []
    for i, entry in enumerate(data.get("phenotype", [])):
        at = f"{where}: phenotype[{i}]"
        phenotypes.append(
            Phenotype(
                _text(entry, "name", at), _genes(entry, "genes", at), _text(entry, "source", at)
            )
        )
    try:
        min_score = float(head.get("min_score", 0.5))
    except (TypeError, ValueError):
        raise OmicsInputError(f"{where}: panel.min_score", msg.NOT_A_NUMBER) from None
    return Panel(str(head.get("name", path)), tuple(types), tuple(phenotypes), min_score, path)


def _text(entry: dict[str, Any], key: str, at: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise OmicsInputError(f"{at}.{key}", msg.NOT_A_STRING)
    return value.strip()


def _genes(entry: dict[str, Any], key: str, at: str) -> tuple[str, ...]:
    value = entry.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(g, str) for g in value):
        raise OmicsInputError(f"{at}.{key}", msg.NOT_GENES)
    return tuple(value)
