"""What the feeds refused, for the people who fix it: messages kept for review, and the
local codes that arrived without a mapping (never guessed, never stored)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session

from neurocart.store.interop import list_messages

UNMAPPED = re.compile(r"unmapped code (?P<code>\S+) \((?P<system>[^)]*)\)")


@dataclass(frozen=True)
class UnmappedCode:
    """A code a sender used that no code map covers, and how many messages carried it."""

    sender: str
    code: str
    coding_system: str
    messages: int


def unmapped_codes(session: Session) -> list[UnmappedCode]:
    """Every local code a sender used that the code map lacks, with how many messages."""
    seen: Counter[tuple[str, str, str]] = Counter()
    for row in list_messages(session):
        for match in UNMAPPED.finditer(row.reason or ""):
            seen[row.system, match["code"], match["system"]] += 1
    return [UnmappedCode(s, c, k, n) for (s, c, k), n in sorted(seen.items())]
