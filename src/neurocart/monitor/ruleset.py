"""Early-warning rules as data: reading and validating a rule file (TOML).

The shipped file is ``monitor/rules/default.toml``; a center passes its own to
`load_rules(path)`. Every problem is reported at once, each naming its TOML path
(``rule[3] (fever).when.op: ...``), and nothing is loaded when any is found.

A rule::

    [[rule]]
    id = "fever"                       # unique, [a-z0-9_]
    title = "Fever ≥ 38.0 °C after infusion"
    when = { signal = "temperature_c", op = ">=", value = 38.0 }   # conditions.py
    study_days = [0, 14]               # optional window (inclusive); needs the infusion date
    severity = "warning"               # info | warning | urgent | critical
    severity_by_grade = { 3 = "critical" }   # optional: by the episode grade
    disciplines = ["nursing", "hematology"]
    action = "…recommended step…"      # shown with the alert, never an order
    action_by_grade = { 2 = "…" }      # optional: by the episode grade (highest key ≤ grade)
    source = "…citation…"
    episode = "crs"                    # rules sharing a key share one alert (default: id)
    grade = "crs_grade"                # optional signal that grades the episode
    show = ["crs_grade"]               # optional extra signals shown in the text
    resolve = { signal = "temperature_c", op = "<", value = 38.0 }
    resolve_after_hours = 24           # the resolve condition must hold this long
    enabled = true

Optional top-level tables: ``[signals]`` (how facts become calculator inputs:
`state.DerivationSettings`) and ``[routing]`` (`routing.RoutingPolicy`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from neurocart.monitor.conditions import (
    OPS,
    ORDER_OPS,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Rise,
    Sustained,
)
from neurocart.monitor.routing import RoutingPolicy, parse_routing
from neurocart.monitor.signals import SIGNALS
from neurocart.monitor.state import DerivationSettings

Severity = Literal["info", "warning", "urgent", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "urgent", "critical")
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
DISCIPLINES = ("neurology", "hematology", "icu", "imaging", "immunology", "nursing", "data_manager")
DEFAULT_RULES = "default.toml"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


SIGNAL_NAME = "expected a signal name (text), got {got}"
UNKNOWN_SIGNAL = "unknown signal {signal}; known: {known}"
SIGNAL_NUMBER = "signal {signal} is a number: expected a number, got {got}"
SIGNAL_EQUALITY = "signal {signal} is {kind}: only == and != compare it, got {op}"
SIGNAL_TYPE = "signal {signal} is {kind}: expected {expected}, got {got}"
NOT_A_CONDITION = "expected a table (condition), got {got}"
STANDS_ALONE = "'{combinator}' stands alone; unexpected {keys}"
NO_CONDITIONS = "expected a non-empty list of conditions"
UNKNOWN_CONDITION_KEYS = "unknown key(s) {keys}; a condition has {allowed} or all/any"
NEEDS_SIGNAL_AND_OP = "a condition needs 'signal' and 'op' (or 'all' / 'any')"
RISE_ALONE = "op 'rise' takes no value or for_days"
ONE_OF = "expected one of {allowed}, got {got}"
NEEDS_VALUE = "op {op} needs a value"
WHOLE_DAYS = "expected a whole number of days ≥ 1, got {got}"
NOT_A_SERIES = "signal {signal} is not a measured series"
ORDERING_OP = "for_days needs an ordering op (< <= > >=), got {op}"
REQUIRED_TEXT = "required text, got {got}"
GRADE_TABLE = "expected a table grade = {kind}, got {got}"
GRADE_KEYS = "keys are grades (whole numbers)"
EXPECTED_TEXT = "expected text, got {got}"
NOT_A_TABLE = "expected a table, got {got}"
RULE_ID = "required, lowercase letters, digits and _ (got {got})"
UNKNOWN_KEY = "unknown key; expected one of {allowed}"
WHEN_REQUIRED = "required: the condition that triggers the rule"
RESOLVE_REQUIRED = "required: the condition under which the episode resolves"
HOURS = "expected hours ≥ 0, got {got}"
DISCIPLINE_LIST = "expected a non-empty list of {allowed}"
STUDY_DAYS = "expected [first, last] whole days, got {got}"
SIGNAL_LIST = "expected a list of signal names, got {got}"
EPISODE_KEY = "expected a key of lowercase letters, digits and _, got {got}"
TRUE_OR_FALSE = "expected true or false, got {got}"
HIGHER_OR_LOWER = "expected 'higher' or 'lower', got {got}"
UNKNOWN_SETTING = "unknown setting; expected one of {allowed}"
DRUG_NAMES = "expected a list of drug names, got {got}"
POSITIVE = "expected a positive number, got {got}"
UNKNOWN_TOP_KEY = "unknown top-level key; expected version, signals, routing, rule"
VERSION = "unsupported version {got}; expected 1"
NO_RULES = "expected at least one [[rule]]"
DUPLICATE_RULE = "duplicate of rule[{index}]"
INVALID_FILE = "invalid rule file {source}:"
MESSAGES = (
    SIGNAL_NAME, UNKNOWN_SIGNAL, SIGNAL_NUMBER, SIGNAL_EQUALITY, SIGNAL_TYPE, NOT_A_CONDITION,
    STANDS_ALONE, NO_CONDITIONS, UNKNOWN_CONDITION_KEYS, NEEDS_SIGNAL_AND_OP, RISE_ALONE, ONE_OF,
    NEEDS_VALUE, WHOLE_DAYS, NOT_A_SERIES, ORDERING_OP, REQUIRED_TEXT, GRADE_TABLE, GRADE_KEYS,
    EXPECTED_TEXT, NOT_A_TABLE, RULE_ID, UNKNOWN_KEY, WHEN_REQUIRED, RESOLVE_REQUIRED, HOURS,
    DISCIPLINE_LIST, STUDY_DAYS, SIGNAL_LIST, EPISODE_KEY, TRUE_OR_FALSE, HIGHER_OR_LOWER,
    UNKNOWN_SETTING, DRUG_NAMES, POSITIVE, UNKNOWN_TOP_KEY, VERSION, NO_RULES, DUPLICATE_RULE,
    INVALID_FILE,
)  # fmt: skip
"""The problems of a rule file as message keys with named fields (like
`neurocart.store.errors.MESSAGES`): `str(RuleFileError)` is the English; a command lists them
in its reader's language (`neurocart.i18n.error_text`), the TOML path, the signal, the keys
and the values given kept. A file that cannot be read or parsed is named by the reader's or
the TOML parser's own message, as it is."""


@dataclass(frozen=True)
class RuleProblem:
    """One mistake in a rule file, with its place (e.g. `rule[3] (fever).when.op`), so a
    center can fix its file."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuleFileError(ValueError):
    """A rule file that cannot be used; `problems` name each TOML path at fault."""

    def __init__(self, source: str, problems: list[RuleProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(INVALID_FILE.format(source=source) + "\n" + lines)


@dataclass(frozen=True)
class Rule:
    """One early-warning rule as loaded from a rule file: when it fires, how severe, who is told,
    the recommended step and its source, and when it resolves."""

    id: str
    title: str
    when: Condition
    severity: Severity
    disciplines: tuple[str, ...]
    action: str
    source: str
    episode: str
    resolve: Condition | None = None
    resolve_after_hours: float = 0.0
    study_days: tuple[int, int] | None = None
    severity_by_grade: tuple[tuple[int, Severity], ...] = ()
    action_by_grade: tuple[tuple[int, str], ...] = ()
    grade: str | None = None
    show: tuple[str, ...] = ()
    peak: str | None = None
    worse: Literal["higher", "lower"] = "higher"
    enabled: bool = True

    @property
    def triggers(self) -> frozenset[str]:
        """Signals whose change makes the engine evaluate this rule."""
        out = set(self.when.signals())
        if self.study_days is not None:
            out.add("study_day")
        if self.grade:
            out.add(self.grade)
        return frozenset(s for s in out if not SIGNALS[s].passive)

    @property
    def resolve_signals(self) -> frozenset[str]:
        return frozenset() if self.resolve is None else self.resolve.signals()

    @property
    def displayed(self) -> tuple[str, ...]:
        """Signals shown in the alert: those of the condition, then `grade` and `show`."""
        seen: dict[str, None] = {}
        for name in sorted(self.when.signals()):
            if not SIGNALS[name].passive:
                seen[name] = None
        for name in ((self.grade,) if self.grade else ()) + self.show:
            seen[name] = None
        return tuple(seen)

    def severity_at(self, grade: float | None) -> Severity:
        best = self.severity
        if grade is not None:
            for g, sev in self.severity_by_grade:
                if grade >= g and SEVERITY_RANK[sev] > SEVERITY_RANK[best]:
                    best = sev
        return best

    def action_at(self, grade: float | None) -> str:
        text = self.action
        if grade is not None:
            for g, a in self.action_by_grade:  # sorted by grade
                if grade >= g:
                    text = a
        return text


@dataclass(frozen=True)
class RuleSet:
    """A whole rule file, validated: the rules, how facts become signals, and the
    escalation policy."""

    rules: tuple[Rule, ...]
    settings: DerivationSettings = field(default_factory=DerivationSettings)
    routing: RoutingPolicy = field(default_factory=RoutingPolicy)
    source: str = "<memory>"


# --- parsing ---


class _Collector:
    def __init__(self) -> None:
        self.problems: list[RuleProblem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(RuleProblem(path, message))


def _signal(name: Any, path: str, out: _Collector) -> str | None:
    if not isinstance(name, str):
        out.add(path, SIGNAL_NAME.format(got=repr(name)))
        return None
    if name not in SIGNALS:
        out.add(path, UNKNOWN_SIGNAL.format(signal=repr(name), known=", ".join(sorted(SIGNALS))))
        return None
    return name


def _value_for(signal: str, op: str, value: Any, path: str, out: _Collector) -> bool:
    kind = SIGNALS[signal].kind
    if kind in ("number", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.add(path, SIGNAL_NUMBER.format(signal=repr(signal), got=repr(value)))
            return False
        return True
    if op in ORDER_OPS:
        out.add(path, SIGNAL_EQUALITY.format(signal=repr(signal), kind=kind, op=repr(op)))
        return False
    expected = bool if kind == "bool" else str
    if not isinstance(value, expected):
        out.add(
            path,
            SIGNAL_TYPE.format(
                signal=repr(signal), kind=kind, expected=expected.__name__, got=repr(value)
            ),
        )
        return False
    return True


def parse_condition(raw: Any, path: str, out: _Collector) -> Condition | None:
    """One condition from its TOML table; problems go to `out` with their path."""
    if not isinstance(raw, Mapping):
        out.add(path, NOT_A_CONDITION.format(got=repr(raw)))
        return None
    keys = set(raw)
    for combinator, cls in (("all", AllOf), ("any", AnyOf)):
        if combinator in keys:
            if keys != {combinator}:
                out.add(
                    path,
                    STANDS_ALONE.format(combinator=combinator, keys=sorted(keys - {combinator})),
                )
                return None
            items = raw[combinator]
            if not isinstance(items, list) or not items:
                out.add(f"{path}.{combinator}", NO_CONDITIONS)
                return None
            parsed = [
                parse_condition(c, f"{path}.{combinator}[{i}]", out) for i, c in enumerate(items)
            ]
            if any(p is None for p in parsed):
                return None
            return cls(tuple(p for p in parsed if p is not None))
    allowed = {"signal", "op", "value", "for_days"}
    unknown = keys - allowed
    if unknown:
        out.add(path, UNKNOWN_CONDITION_KEYS.format(keys=sorted(unknown), allowed=sorted(allowed)))
        return None
    if "signal" not in raw or "op" not in raw:
        out.add(path, NEEDS_SIGNAL_AND_OP)
        return None
    signal = _signal(raw["signal"], f"{path}.signal", out)
    op = raw["op"]
    if op == "rise":
        if "value" in raw or "for_days" in raw:
            out.add(path, RISE_ALONE)
            return None
        return Rise(signal) if signal else None
    if op not in OPS:
        out.add(f"{path}.op", ONE_OF.format(allowed=[*sorted(OPS), "rise"], got=repr(op)))
        return None
    if "value" not in raw:
        out.add(f"{path}.value", NEEDS_VALUE.format(op=repr(op)))
        return None
    if signal is None or not _value_for(signal, op, raw["value"], f"{path}.value", out):
        return None
    if "for_days" in raw:
        days = raw["for_days"]
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            out.add(f"{path}.for_days", WHOLE_DAYS.format(got=repr(days)))
            return None
        if SIGNALS[signal].series_code is None:
            out.add(f"{path}.for_days", NOT_A_SERIES.format(signal=repr(signal)))
            return None
        if op not in ORDER_OPS:
            out.add(f"{path}.op", ORDERING_OP.format(op=repr(op)))
            return None
        return Sustained(signal, op, float(raw["value"]), days)
    value = raw["value"]
    return Compare(
        signal,
        op,
        float(value) if isinstance(value, int) and not isinstance(value, bool) else value,
    )


def _text(rule: Mapping[str, Any], key: str, path: str, out: _Collector) -> str:
    value = rule.get(key)
    if not isinstance(value, str) or not value.strip():
        out.add(f"{path}.{key}", REQUIRED_TEXT.format(got=repr(value)))
        return ""
    return value.strip()


def _by_grade(raw: Any, path: str, out: _Collector, kind: str) -> list[tuple[int, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        out.add(path, GRADE_TABLE.format(kind=kind, got=repr(raw)))
        return []
    items: list[tuple[int, Any]] = []
    for key, value in raw.items():
        try:
            grade = int(key)
        except ValueError:
            out.add(f"{path}.{key}", GRADE_KEYS)
            continue
        if kind == "severity" and value not in SEVERITIES:
            out.add(f"{path}.{key}", ONE_OF.format(allowed=list(SEVERITIES), got=repr(value)))
            continue
        if kind == "text" and (not isinstance(value, str) or not value.strip()):
            out.add(f"{path}.{key}", EXPECTED_TEXT.format(got=repr(value)))
            continue
        items.append((grade, value.strip() if isinstance(value, str) else value))
    return sorted(items)


_RULE_KEYS = {f.name for f in fields(Rule)} | {"when"}


def _peak_default(cond: Condition) -> tuple[str | None, Literal["higher", "lower"]]:
    if isinstance(cond, Compare) and SIGNALS[cond.signal].kind in ("number", "int"):
        return cond.signal, "lower" if cond.op in ("<", "<=") else "higher"
    if isinstance(cond, Rise):
        return cond.signal, "higher"
    if isinstance(cond, AllOf | AnyOf):
        for item in cond.items:
            found = _peak_default(item)
            if found[0] is not None:
                return found
    return None, "higher"


def _parse_rule(raw: Any, path: str, out: _Collector) -> Rule | None:
    if not isinstance(raw, Mapping):
        out.add(path, NOT_A_TABLE.format(got=repr(raw)))
        return None
    before = len(out.problems)
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        out.add(f"{path}.id", RULE_ID.format(got=repr(rid)))
        rid = "invalid"
    path = f"{path} ({rid})"
    for key in sorted(set(raw) - _RULE_KEYS):
        out.add(f"{path}.{key}", UNKNOWN_KEY.format(allowed=sorted(_RULE_KEYS)))
    title = _text(raw, "title", path, out)
    action = _text(raw, "action", path, out)
    source = _text(raw, "source", path, out)
    when = parse_condition(raw.get("when"), f"{path}.when", out) if "when" in raw else None
    if "when" not in raw:
        out.add(f"{path}.when", WHEN_REQUIRED)
    resolve = None
    if "resolve" in raw:
        resolve = parse_condition(raw["resolve"], f"{path}.resolve", out)
    else:
        out.add(f"{path}.resolve", RESOLVE_REQUIRED)
    hours = raw.get("resolve_after_hours", 0)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0:
        out.add(f"{path}.resolve_after_hours", HOURS.format(got=repr(hours)))
        hours = 0
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        out.add(f"{path}.severity", ONE_OF.format(allowed=list(SEVERITIES), got=repr(severity)))
        severity = "info"
    disciplines = raw.get("disciplines")
    if not isinstance(disciplines, list) or not disciplines:
        out.add(f"{path}.disciplines", DISCIPLINE_LIST.format(allowed=list(DISCIPLINES)))
        disciplines = []
    for i, d in enumerate(disciplines):
        if d not in DISCIPLINES:
            out.add(
                f"{path}.disciplines[{i}]", ONE_OF.format(allowed=list(DISCIPLINES), got=repr(d))
            )
    window = raw.get("study_days")
    study_days: tuple[int, int] | None = None
    if window is not None:
        if (
            not isinstance(window, list)
            or len(window) != 2
            or not all(isinstance(d, int) and not isinstance(d, bool) for d in window)
            or window[0] > window[1]
        ):
            out.add(f"{path}.study_days", STUDY_DAYS.format(got=repr(window)))
        else:
            study_days = (window[0], window[1])
    grade = raw.get("grade")
    if grade is not None:
        grade = _signal(grade, f"{path}.grade", out)
    show = raw.get("show", [])
    if not isinstance(show, list):
        out.add(f"{path}.show", SIGNAL_LIST.format(got=repr(show)))
        show = []
    shown = tuple(s for i, s in enumerate(show) if _signal(s, f"{path}.show[{i}]", out))
    episode = raw.get("episode", rid)
    if not isinstance(episode, str) or not _ID.match(episode):
        out.add(f"{path}.episode", EPISODE_KEY.format(got=repr(episode)))
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        out.add(f"{path}.enabled", TRUE_OR_FALSE.format(got=repr(enabled)))
    sev_by = _by_grade(raw.get("severity_by_grade"), f"{path}.severity_by_grade", out, "severity")
    act_by = _by_grade(raw.get("action_by_grade"), f"{path}.action_by_grade", out, "text")
    peak, worse = _peak_default(when) if when is not None else (None, "higher")
    if "peak" in raw:
        peak = _signal(raw["peak"], f"{path}.peak", out)
    if "worse" in raw:
        worse = raw["worse"]
        if worse not in ("higher", "lower"):
            out.add(f"{path}.worse", HIGHER_OR_LOWER.format(got=repr(worse)))
    if len(out.problems) > before or when is None or resolve is None:
        return None
    return Rule(
        id=rid,
        title=title,
        when=when,
        severity=cast(Severity, severity),
        disciplines=tuple(disciplines),
        action=action,
        source=source,
        episode=episode,
        resolve=resolve,
        resolve_after_hours=float(hours),
        study_days=study_days,
        severity_by_grade=tuple(sev_by),
        action_by_grade=tuple(act_by),
        grade=grade,
        show=shown,
        peak=peak,
        worse=worse,
        enabled=enabled,
    )


def _parse_settings(raw: Any, out: _Collector) -> DerivationSettings:
    if raw is None:
        return DerivationSettings()
    if not isinstance(raw, Mapping):
        out.add("signals", NOT_A_TABLE.format(got=repr(raw)))
        return DerivationSettings()
    known = {f.name: f for f in fields(DerivationSettings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            out.add(f"signals.{key}", UNKNOWN_SETTING.format(allowed=sorted(known)))
        elif key == "fever_masking_drugs":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                out.add(f"signals.{key}", DRUG_NAMES.format(got=repr(value)))
            else:
                values[key] = tuple(v.lower() for v in value)
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            out.add(f"signals.{key}", POSITIVE.format(got=repr(value)))
        else:
            values[key] = float(value)
    return DerivationSettings(**values)


def parse_rules(data: Mapping[str, Any], source: str = "<memory>") -> RuleSet:
    """A validated `RuleSet` from parsed TOML; `RuleFileError` lists every problem."""
    out = _Collector()
    for key in sorted(set(data) - {"version", "rule", "signals", "routing"}):
        out.add(key, UNKNOWN_TOP_KEY)
    if data.get("version", 1) != 1:
        out.add("version", VERSION.format(got=repr(data.get("version"))))
    raw_rules = data.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        out.add("rule", NO_RULES)
        raw_rules = []
    rules = [_parse_rule(r, f"rule[{i}]", out) for i, r in enumerate(raw_rules)]
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule is None:
            continue
        if rule.id in seen:
            out.add(f"rule[{i}] ({rule.id}).id", DUPLICATE_RULE.format(index=seen[rule.id]))
        seen.setdefault(rule.id, i)
    settings = _parse_settings(data.get("signals"), out)
    routing = parse_routing(data.get("routing"), "routing", out.add)
    if out.problems:
        raise RuleFileError(source, out.problems)
    return RuleSet(
        rules=tuple(r for r in rules if r is not None and r.enabled),
        settings=settings,
        routing=routing,
        source=source,
    )


def load_rules(path: str | Path | None = None) -> RuleSet:
    """The rule file at `path`, or the shipped default rules."""
    if path is None:
        text = (
            resources.files("neurocart.monitor")
            .joinpath("rules", DEFAULT_RULES)
            .read_text(encoding="utf-8")
        )
        source = f"neurocart/monitor/rules/{DEFAULT_RULES}"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RuleFileError(source, [RuleProblem("(file)", str(exc))]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(source, [RuleProblem("(toml)", str(exc))]) from None
    return parse_rules(data, source)
