"""Calculator reasons as message keys with named parameters, so the faces can translate them.

A calculator states a reason through a module-level template:

    FEVER = Reason("temperature {t} °C ≥ {limit} °C: fever")
    reasons.append(FEVER(t=f"{t:g}", limit=f"{FEVER_C:.1f}"))

The call returns the English text, which stays the record of truth: `Result.reasons` is a list
of plain strings, stored and served by the API unchanged. The template is the message key (the
msgid of the catalogues) and the keyword arguments its parameters, already formatted as the
standard prints them (numbers and UCUM units are the same in every language). A face that
shows a reason recovers key and parameters from the English text with `parse` and renders the
translated template with them; a text no template matches is shown as it is. This module
knows no language and no catalogue: the core stays pure.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

_REGISTRY: dict[str, Reason] = {}


@dataclass(frozen=True)
class Reason:
    """One reason's message key: English text with `{name}` fields (no format specs)."""

    key: str
    names: tuple[str, ...] = field(init=False)
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts: list[str] = []
        names: list[str] = []
        for literal, name, spec, conversion in string.Formatter().parse(self.key):
            parts.append(re.escape(literal))
            if name is None:
                continue
            if not name.isidentifier() or spec or conversion:
                raise ValueError(f"reason {self.key!r}: field {name!r} must be a plain name")
            if name in names:
                parts.append(f"(?P={name})")
            else:
                names.append(name)
                parts.append(f"(?P<{name}>.+?)")
        object.__setattr__(self, "names", tuple(names))
        object.__setattr__(self, "pattern", re.compile("".join(parts) + r"\Z", re.DOTALL))
        _REGISTRY.setdefault(self.key, self)

    def __call__(self, **params: object) -> str:
        """The English text of the reason with these parameters."""
        missing = set(self.names) - set(params)
        if missing:
            raise KeyError(f"reason {self.key!r}: missing {sorted(missing)}")
        return self.key.format(**{k: str(v) for k, v in params.items()})


def parse(text: str) -> tuple[str, dict[str, str]] | None:
    """The message key and parameters of an English reason, or None when no template made it.

    Templates without fields are matched first, then the most specific (longest literal) one.
    """
    exact = _REGISTRY.get(text)
    if exact is not None:
        return exact.key, {}
    best: tuple[int, str, dict[str, str]] | None = None
    for reason in _REGISTRY.values():
        if not reason.names:
            continue
        match = reason.pattern.match(text)
        if match is None:
            continue
        literal = len(reason.key) - sum(len(n) + 2 for n in reason.names)
        if best is None or literal > best[0]:
            best = (literal, reason.key, {n: match.group(n) for n in reason.names})
    return None if best is None else (best[1], best[2])


def keys() -> list[str]:
    """Every registered reason key (import the calculators first: `neurocart.standards`)."""
    return sorted(_REGISTRY)
