"""Who is paged: the rule's disciplines first, then escalation tiers while nobody acknowledges.

An alert opens (or is upgraded) to the disciplines its rules name. When it is not
acknowledged within the time set for its severity, it escalates one tier; each further
interval without acknowledgement escalates one more, until the tiers run out. A tier names
disciplines, or ``@lead`` (the rule's lead discipline: its first that is not nursing — the
attending team) or ``@rule`` (all of the rule's disciplines).

Default: lead discipline, then ICU; critical after 5 min, urgent 15 min, warning 60 min, info
never. A rule file may set its own in ``[routing]``::

    [routing]
    escalation_tiers = [["@lead"], ["icu"]]
    escalate_after_minutes = { critical = 5, urgent = 15, warning = 60 }
    max_tier = { warning = 1 }     # highest tier per severity (default: all tiers)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

_SEVERITIES = ("info", "warning", "urgent", "critical")
DISCIPLINES = (
    "neurology",
    "hematology",
    "icu",
    "imaging",
    "immunology",
    "nursing",
    "data_manager",
)
"""The disciplines an alert can page (and be handed over to)."""
PLACEHOLDERS = ("@lead", "@rule")


@dataclass(frozen=True)
class RoutingPolicy:
    """Escalation of unacknowledged alerts: the tiers, the wait per severity before the next tier,
    and the highest tier per severity."""

    escalation_tiers: tuple[tuple[str, ...], ...] = (("@lead",), ("icu",))
    escalate_after_minutes: tuple[tuple[str, float], ...] = (
        ("critical", 5.0),
        ("urgent", 15.0),
        ("warning", 60.0),
    )
    max_tier: tuple[tuple[str, int], ...] = (("warning", 1),)

    def max_level_for(self, severity: str) -> int:
        """The highest tier an alert of this severity escalates to."""
        for sev, level in self.max_tier:
            if sev == severity:
                return min(level, self.max_level)
        return self.max_level

    def escalate_after(self, severity: str) -> timedelta | None:
        """Time without acknowledgement before the next tier; None: never escalates."""
        for sev, minutes in self.escalate_after_minutes:
            if sev == severity:
                return timedelta(minutes=minutes)
        return None

    @property
    def max_level(self) -> int:
        return len(self.escalation_tiers)

    @staticmethod
    def lead(disciplines: Iterable[str]) -> str:
        items = list(disciplines)
        return next((d for d in items if d != "nursing"), items[0] if items else "nursing")

    def tier(self, level: int, disciplines: Iterable[str]) -> tuple[str, ...]:
        """Disciplines paged at escalation `level` (1 = first tier)."""
        items = tuple(disciplines)
        out: dict[str, None] = {}
        for target in self.escalation_tiers[level - 1]:
            if target == "@lead":
                out[self.lead(items)] = None
            elif target == "@rule":
                out.update(dict.fromkeys(items))
            else:
                out[target] = None
        return tuple(out)


NOT_A_TABLE = "expected a table, got {got}"
UNKNOWN_KEY = "unknown key; expected escalation_tiers, escalate_after_minutes, max_tier"
TIER_TABLE = "expected a table severity = tier number, got {got}"
SEVERITY = "expected a severity {allowed}"
TIER_NUMBER = "expected a tier number ≥ 0, got {got}"
LIST_OF_LISTS = "expected a list of lists, got {got}"
TIER_LIST = "expected a non-empty list of disciplines, got {got}"
ONE_OF = "expected one of {allowed}, got {got}"
MINUTES_TABLE = "expected a table severity = minutes, got {got}"
MINUTES = "expected minutes > 0, got {got}"
MESSAGES = (
    NOT_A_TABLE, UNKNOWN_KEY, TIER_TABLE, SEVERITY, TIER_NUMBER, LIST_OF_LISTS, TIER_LIST,
    ONE_OF, MINUTES_TABLE, MINUTES,
)  # fmt: skip
"""The problems of a rule file's [routing] table as message keys with named fields (said with
those of `neurocart.monitor.ruleset.MESSAGES`)."""


def parse_routing(raw: Any, path: str, problem: Callable[[str, str], None]) -> RoutingPolicy:
    """A `RoutingPolicy` from a TOML table; problems reported with their path."""
    if raw is None:
        return RoutingPolicy()
    if not isinstance(raw, Mapping):
        problem(path, NOT_A_TABLE.format(got=repr(raw)))
        return RoutingPolicy()
    default = RoutingPolicy()
    tiers = default.escalation_tiers
    after = default.escalate_after_minutes
    limits = default.max_tier
    for key in sorted(set(raw) - {"escalation_tiers", "escalate_after_minutes", "max_tier"}):
        problem(
            f"{path}.{key}",
            UNKNOWN_KEY,
        )
    if "max_tier" in raw:
        value = raw["max_tier"]
        where = f"{path}.max_tier"
        if not isinstance(value, Mapping):
            problem(where, TIER_TABLE.format(got=repr(value)))
        else:
            parsed_limits: list[tuple[str, int]] = []
            for sev, level in value.items():
                if sev not in _SEVERITIES:
                    problem(f"{where}.{sev}", SEVERITY.format(allowed=list(_SEVERITIES)))
                elif isinstance(level, bool) or not isinstance(level, int) or level < 0:
                    problem(f"{where}.{sev}", TIER_NUMBER.format(got=repr(level)))
                else:
                    parsed_limits.append((sev, level))
            limits = tuple(parsed_limits)
    if "escalation_tiers" in raw:
        value = raw["escalation_tiers"]
        parsed: list[tuple[str, ...]] = []
        if not isinstance(value, list):
            problem(f"{path}.escalation_tiers", LIST_OF_LISTS.format(got=repr(value)))
        else:
            for i, tier in enumerate(value):
                where = f"{path}.escalation_tiers[{i}]"
                if not isinstance(tier, list) or not tier:
                    problem(where, TIER_LIST.format(got=repr(tier)))
                    continue
                for j, target in enumerate(tier):
                    if target not in DISCIPLINES and target not in PLACEHOLDERS:
                        problem(
                            f"{where}[{j}]",
                            ONE_OF.format(
                                allowed=list(DISCIPLINES) + list(PLACEHOLDERS), got=repr(target)
                            ),
                        )
                parsed.append(tuple(str(t) for t in tier))
            tiers = tuple(parsed)
    if "escalate_after_minutes" in raw:
        value = raw["escalate_after_minutes"]
        where = f"{path}.escalate_after_minutes"
        if not isinstance(value, Mapping):
            problem(where, MINUTES_TABLE.format(got=repr(value)))
        else:
            items: list[tuple[str, float]] = []
            for sev, minutes in value.items():
                if sev not in _SEVERITIES:
                    problem(f"{where}.{sev}", SEVERITY.format(allowed=list(_SEVERITIES)))
                elif (
                    isinstance(minutes, bool)
                    or not isinstance(minutes, int | float)
                    or minutes <= 0
                ):
                    problem(f"{where}.{sev}", MINUTES.format(got=repr(minutes)))
                else:
                    items.append((sev, float(minutes)))
            after = tuple(items)
    return RoutingPolicy(escalation_tiers=tiers, escalate_after_minutes=after, max_tier=limits)
