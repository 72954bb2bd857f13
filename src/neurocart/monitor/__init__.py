"""The rapid-response engine: watch every treated patient, page the right discipline.

Pure core — no database, no clock, no threads. Facts in (`facts`), per-patient state and
derived signals graded through `neurocart.standards` (`state`), early-warning rules as data
(`ruleset`, `conditions`, ``rules/default.toml``), alert episodes and their actions
(`episodes`), escalation tiers (`routing`), and the `Engine` that ties them (`engine`).
"""

from __future__ import annotations

from neurocart.monitor.engine import Engine, UnknownAlertError
from neurocart.monitor.episodes import Alert, AlertAction
from neurocart.monitor.facts import (
    Ack,
    Assessment,
    Event,
    Fact,
    HistoryItem,
    Observation,
    OverdueTask,
    PatientContext,
    Resolve,
    Tick,
    chronological,
)
from neurocart.monitor.routing import RoutingPolicy
from neurocart.monitor.ruleset import (
    Rule,
    RuleFileError,
    RuleProblem,
    RuleSet,
    load_rules,
    parse_rules,
)
from neurocart.monitor.signals import SIGNALS
from neurocart.monitor.state import DerivationSettings, PatientState

__all__ = [
    "SIGNALS",
    "Ack",
    "Alert",
    "AlertAction",
    "Assessment",
    "DerivationSettings",
    "Engine",
    "Event",
    "Fact",
    "HistoryItem",
    "Observation",
    "OverdueTask",
    "PatientContext",
    "PatientState",
    "Resolve",
    "RoutingPolicy",
    "Rule",
    "RuleFileError",
    "RuleProblem",
    "RuleSet",
    "Tick",
    "UnknownAlertError",
    "chronological",
    "load_rules",
    "parse_rules",
]
