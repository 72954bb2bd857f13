"""Reading protocol files: TOML → validated `Protocol`, with errors that name the TOML key path.

    >>> from neurocart.pathway import load_shipped
    >>> load_shipped("nad-cart-2025").task_by_id["vitals"].offsets[-1]
    datetime.timedelta(days=14, seconds=72000)

Shipped protocols live in ``neurocart/pathway/protocols/*.toml`` (package data, read through
importlib.resources); a center checks its own file with ``neurocart protocol check FILE``.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from neurocart.pathway.protocol import Protocol

DEFAULT_PROTOCOL = "nad-cart-2025"


@dataclass(frozen=True)
class ProtocolProblem:
    """One thing wrong with a protocol file, at a TOML key path like ``tasks[3].window``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ProtocolError(ValueError):
    """A protocol file that cannot be used. `problems` lists every fault found."""

    def __init__(self, source: str, problems: Sequence[ProtocolProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(INVALID.format(source=source) + "\n" + lines)

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.problems]


NO_SHIPPED_PROTOCOL = "no shipped protocol {protocol_id} (known: {known})"
INVALID = "invalid protocol {source}:"
UNKNOWN_KEY = "unknown key"
REQUIRED_KEY = "required key is missing"
GOT = "{error} (got {got})"
UNKNOWN_ANCHOR = "unknown anchor {anchor} (declared in [anchors]: {declared})"
NO_ANCHORS = "unknown anchor {anchor} (declared in [anchors]: none)"
DUPLICATE_ID = "duplicate id {id}"
UNKNOWN_PHASE = "unknown phase {phase} (declared in [[phases]]: {declared})"
NOT_TOML = "not valid TOML: {error}"
CANNOT_READ = "cannot read file: {error}"
NAME_DIFFERS = "{id} differs from the file name"
MESSAGES = (
    NO_SHIPPED_PROTOCOL, INVALID, UNKNOWN_KEY, REQUIRED_KEY, GOT, UNKNOWN_ANCHOR, NO_ANCHORS,
    DUPLICATE_ID, UNKNOWN_PHASE, NOT_TOML, CANNOT_READ, NAME_DIFFERS,
)  # fmt: skip
"""The loader's refusal of an unknown protocol and the problems it lists for a protocol file,
as message keys with named fields (like `neurocart.store.errors.MESSAGES`; the checks of the
tables are `neurocart.pathway.protocol.MESSAGES`). A file without anchors says "none" in its
own key (`NO_ANCHORS`), so the word is translated while anchor names are kept. The TOML
parser's and pydantic's own messages are quoted as they are (pydantic's are catalogue words
where the calculators share them)."""


class UnknownProtocolError(LookupError):
    """No shipped protocol has that id."""


def _label(data: Any, loc: Sequence[int | str]) -> str:
    """``('tasks', 3, 'window', 'after_days')`` → ``tasks[3] (id "vitals").window.after_days``."""
    out = ""
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                out += f' (id "{node["id"]}")'
        else:
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _from_validation(data: Any, error: ValidationError) -> list[ProtocolProblem]:
    problems = []
    for e in error.errors(include_url=False):
        # Drop pydantic's own markers (function-after[...], union members) from the path.
        loc = [p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p in _TYPES))]
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = UNKNOWN_KEY
        elif e["type"] == "missing":
            message = REQUIRED_KEY
        elif "input" in e and not isinstance(e["input"], dict | list):
            message = GOT.format(error=message, got=repr(e["input"]))
        problems.append(ProtocolProblem(_label(data, loc), message))
    # One message per path: union members repeat the same complaint.
    unique = dict.fromkeys(problems)
    return list(unique)


_TYPES = {"str", "int", "bool", "float"}


def _items(data: Mapping[str, Any], key: str) -> list[tuple[int, str, Mapping[str, Any]]]:
    """(index, label, table) of each well-formed entry of an array of tables."""
    found = data.get(key)
    if not isinstance(found, list):
        return []
    return [
        (i, _label(data, [key, i]), item) for i, item in enumerate(found) if isinstance(item, dict)
    ]


def validate_references(data: Mapping[str, Any]) -> list[ProtocolProblem]:
    """Checks that span the file: ids unique, anchors and phases declared.

    Works on the raw TOML so that these faults are reported together with the per-key ones.
    """
    problems: list[ProtocolProblem] = []
    declared = data.get("anchors")
    anchors = sorted(declared) if isinstance(declared, dict) else []
    phases = [str(item.get("id")) for _, _, item in _items(data, "phases")]

    def anchor(path: str, bound: object) -> None:
        name = bound.get("anchor") if isinstance(bound, dict) else None
        if isinstance(name, str) and name not in anchors:
            problem = (
                UNKNOWN_ANCHOR.format(anchor=repr(name), declared=", ".join(anchors))
                if anchors
                else NO_ANCHORS.format(anchor=repr(name))
            )
            problems.append(ProtocolProblem(path, problem))

    for key in ("phases", "tasks"):
        seen = Counter(str(item.get("id")) for _, _, item in _items(data, key))
        for _, where, item in _items(data, key):
            if "id" in item and seen[str(item["id"])] > 1:
                problems.append(
                    ProtocolProblem(f"{where}.id", DUPLICATE_ID.format(id=repr(item["id"])))
                )
    for _, where, table in _items(data, "phases"):
        anchor(f"{where}.start.anchor", table.get("start"))
        anchor(f"{where}.end.anchor", table.get("end"))
    for _, where, task in _items(data, "tasks"):
        anchor(f"{where}.anchor", task)
        phase = task.get("phase")
        if isinstance(phase, str) and phase not in phases:
            problems.append(
                ProtocolProblem(
                    f"{where}.phase",
                    UNKNOWN_PHASE.format(phase=repr(phase), declared=", ".join(phases)),
                )
            )
    return problems


def parse_protocol(text: str, source: str = "<string>") -> Protocol:
    """Validate protocol TOML text; raise `ProtocolError` naming every faulty key path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(source, [ProtocolProblem("", NOT_TOML.format(error=exc))]) from None
    problems = validate_references(data)
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        problems = _from_validation(data, exc) + problems
    if problems:
        raise ProtocolError(source, problems)
    return protocol


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file from disk."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(
            str(path), [ProtocolProblem("", CANNOT_READ.format(error=exc))]
        ) from None
    return parse_protocol(text, str(path))


def _protocols_dir() -> Traversable:
    return resources.files("neurocart.pathway") / "protocols"


def shipped_protocol_ids() -> list[str]:
    """Ids of the protocols that ship with neurocart (file stems), sorted."""
    root = _protocols_dir()
    return sorted(f.name.removesuffix(".toml") for f in root.iterdir() if f.name.endswith(".toml"))


@cache
def load_shipped(protocol_id: str = DEFAULT_PROTOCOL) -> Protocol:
    """A shipped protocol by id, parsed once per process (protocols are immutable)."""
    if protocol_id not in shipped_protocol_ids():
        known = ", ".join(shipped_protocol_ids())
        raise UnknownProtocolError(
            NO_SHIPPED_PROTOCOL.format(protocol_id=repr(protocol_id), known=known)
        )
    resource = _protocols_dir() / f"{protocol_id}.toml"
    protocol = parse_protocol(resource.read_text(encoding="utf-8"), f"{protocol_id}.toml")
    if protocol.id != protocol_id:
        raise ProtocolError(
            f"{protocol_id}.toml",
            [ProtocolProblem("protocol.id", NAME_DIFFERS.format(id=repr(protocol.id)))],
        )
    return protocol
