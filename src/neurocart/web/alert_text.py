"""Alert text as a clinician reads it: each finding once, no internal document references.

>>> findings("CRS grade (ASTCT) 2. CRS grade (ASTCT) 2; temperature 39.4 °C")
'CRS grade (ASTCT) 2; temperature 39.4 °C'
>>> citation("Lee DW et al. 2019;25:625–638 (fever ≥ 38.0 °C; notes.md §1, §8)")
'Lee DW et al. 2019;25:625–638 (fever ≥ 38.0 °C)'
"""

from __future__ import annotations

import re

_INTERNAL = re.compile(r"\s*[;,(]?\s*\b[\w-]+\.md\b(\s*§\s*[\d.]+(\s*,\s*§?\s*[\d.]+)*)?\s*\)?")
_SPLIT = re.compile(r"\s*(?:;|\.\s)\s*")


def citation(text: str) -> str:
    """`text` without references to the project's internal documents ("notes.md §8")."""

    def drop(match: re.Match[str]) -> str:
        token = match.group(0)
        opened, closed = token.lstrip().startswith("("), token.rstrip().endswith(")")
        return ")" if closed and not opened else ""

    cleaned = _INTERNAL.sub(drop, text)
    cleaned = re.sub(r"\(\s*\)", "", cleaned)
    return re.sub(r"\s{2,}", " ", cleaned).strip(" ;,")


def findings(text: str, *, without: tuple[str, ...] = ()) -> str:
    """Each clause once, in order ("A. A; B" → "A; B"), internal references removed, and
    none that starts with one of the labels `without`.

    >>> findings("CRS grade (ASTCT) 2; current CRS grade derived; temperature 39 °C",
    ...          without=("current CRS grade",))
    'CRS grade (ASTCT) 2; temperature 39 °C'
    """
    seen: list[str] = []
    for part in _SPLIT.split(citation(text)):
        part = part.strip(" .;")
        if part and part not in seen and not part.startswith(without):
            seen.append(part)
    return "; ".join(seen)
