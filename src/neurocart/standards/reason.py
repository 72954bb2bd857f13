"""Calculator texts as message keys with named parameters, so the faces can translate them.

A calculator states a reason (and an input error, and a warning) through a module-level
template:

    FEVER = Reason("temperature {t} °C ≥ {limit} °C: fever")
    reasons.append(FEVER(t=f"{t:g}", limit=f"{FEVER_C:.1f}"))

The call returns the English text, which stays the record of truth: `Result.reasons` is a list
of plain strings, stored and served by the API unchanged. The template is the message key (the
msgid of the catalogues) and the keyword arguments its parameters, already formatted as the
standard prints them (numbers and UCUM units are the same in every language). A face that
shows a reason recovers key and parameters from the English text with `parse` and renders the
translated template with them; a text no template matches is shown as it is. This module
knows no language and no catalogue: the core stays pure.

A parameter may be a word of the catalogue ("nasal cannula"), another reason's text, or a
list (`Items`): the abnormal items of a scale ("talking 2, chewing 1"), the days of an ANC
episode. A list names its English separator and, when its items are not catalogue words
themselves, the template of one item; a face renders item by item and joins them in its own
language:

    ITEM = Reason("{item} {points}", numbers=("points",), registered=False)
    TOTAL = Reason("total {total} ({listed})", lists={"listed": Items(", ", ITEM)})

An item template is not `registered`: only the whole reason is looked up by `parse`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

_REGISTRY: dict[str, Reason] = {}

NUMBER = r"[-+−]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"
"""A number as the calculators print one (`numbers` fields)."""
PERCENT = NUMBER + " %"
"""A percentage with its sign ("20 %"): a key writes "{p} slower", not "{p} % slower",
because gettext tools read "% s" as a printf placeholder."""


@dataclass(frozen=True)
class Items:
    """A list parameter: the English separator of its items and, unless each item is a
    catalogue word, the template of one item."""

    sep: str = ", "
    item: Reason | None = None


@dataclass(frozen=True)
class Reason:
    """One message key: English text with `{name}` fields (no format specs)."""

    key: str
    lists: Mapping[str, Items] = field(default_factory=dict, compare=False)
    patterns: Mapping[str, str] = field(default_factory=dict, compare=False)
    """A field's regular expression where "anything, as short as possible" is ambiguous
    (`{item} {points}`: the points are one word, so the item may have spaces); like `numbers`,
    a name the key does not have is ignored."""
    numbers: tuple[str, ...] = field(default=(), compare=False)
    """Fields that are always a number ("7", "-3", "+0.5", "1e-05"): matched as one (a name
    the key does not have is ignored, so one tuple serves a family of templates)."""
    registered: bool = field(default=True, compare=False)
    kept: frozenset[str] = field(default=frozenset(), compare=False)
    """Fields a face shows as they are, never translated: codes, field names and paths that a
    user types ("other" the specimen code, not the word)."""
    names: tuple[str, ...] = field(init=False)
    literal: int = field(init=False, compare=False)
    """How many characters of the key are not fields (the more, the more specific)."""
    source: str = field(init=False, repr=False, compare=False)
    """The regular expression that matches the texts this key makes (compiled on first use:
    a few hundred keys are defined at import, and only a face that reads texts back needs
    them)."""

    def __post_init__(self) -> None:
        parts: list[str] = []
        names: list[str] = []
        literal_length = 0
        for literal, name, spec, conversion in string.Formatter().parse(self.key):
            parts.append(re.escape(literal))
            literal_length += len(literal)
            if name is None:
                continue
            if not name.isidentifier() or spec or conversion:
                raise ValueError(f"reason {self.key!r}: field {name!r} must be a plain name")
            if name in names:
                parts.append(f"(?P={name})")
            else:
                names.append(name)
                shape = NUMBER if name in self.numbers else self.patterns.get(name, ".+?")
                parts.append(f"(?P<{name}>{shape})")
        unknown = set(self.lists) - set(names)
        if unknown:
            raise ValueError(f"reason {self.key!r}: no field {sorted(unknown)} to describe")
        object.__setattr__(self, "names", tuple(names))
        object.__setattr__(self, "literal", literal_length)
        object.__setattr__(self, "source", "".join(parts) + r"\Z")
        if self.registered:
            _REGISTRY.setdefault(self.key, self)

    def __call__(self, **params: object) -> str:
        """The English text of the reason with these parameters."""
        missing = set(self.names) - set(params)
        if missing:
            raise KeyError(f"reason {self.key!r}: missing {sorted(missing)}")
        return self.key.format(**{k: str(v) for k, v in params.items()})

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.source, re.DOTALL)

    def match(self, text: str) -> dict[str, str] | None:
        """The parameters of `text` when this template made it, else None."""
        found = self.pattern.match(text)
        return None if found is None else {n: found.group(n) for n in self.names}


def find(text: str) -> tuple[Reason, dict[str, str]] | None:
    """The template that made an English text, with its parameters, or None.

    Templates without fields are matched first, then the most specific (longest literal) one.
    """
    exact = _REGISTRY.get(text)
    if exact is not None:
        return exact, {}
    best: tuple[Reason, dict[str, str]] | None = None
    for reason in _REGISTRY.values():
        if not reason.names:
            continue
        params = reason.match(text)
        if params is not None and (best is None or reason.literal > best[0].literal):
            best = (reason, params)
    return best


def parse(text: str) -> tuple[str, dict[str, str]] | None:
    """The message key and parameters of an English reason, or None when no template made it."""
    found = find(text)
    return None if found is None else (found[0].key, found[1])


def keys() -> list[str]:
    """Every registered reason key (import the calculators first: `neurocart.standards`)."""
    return sorted(_REGISTRY)
