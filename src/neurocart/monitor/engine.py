"""The rapid-response engine: facts in, alert actions out. Pure — no database, clock or threads.

    >>> from datetime import UTC, datetime, timedelta
    >>> from neurocart.monitor import Engine, Observation, PatientContext
    >>> day0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
    >>> engine = Engine()
    >>> _ = engine.set_context(PatientContext("NC-0001", infusion_at=day0))
    >>> actions = engine.ingest(Observation("NC-0001", "8310-5", 38.4, day0 + timedelta(hours=30)))
    >>> [(a.kind, a.rule_id, a.severity) for a in actions][:1]
    [('open', 'fever', 'warning')]

How the integrator uses it (one engine per process, calls serialized by the caller):

1. live — after a fact is stored, `engine.ingest(fact)`; persist and push the returned
   actions. Every minute or so `engine.tick(now, overdue=...)` (escalations, timed closes,
   overdue critical tasks); `engine.acknowledge(key, user, at)` when a user acknowledges.
2. start-up — `Engine.from_history(contexts, history)` rebuilds the state from the store
   (history = facts, plus acknowledgements and ticks if the open alerts' escalation state is
   wanted), discarding the actions (they were persisted when they first happened).
3. replay — `Engine.replay(contexts, history)` feeds the same stream through a fresh engine
   and returns its actions: the same items in the same order give the same actions. Feed
   facts in the order they were accepted (store id order); for real-time feeds that is time
   order (`facts.chronological`).

Time: each patient's "now" is the latest fact time seen. Transitions that fall due with the
passage of time (a close after 24 h afebrile, an escalation) carry the time they fell due,
and are emitted when the engine first learns that time has passed — by a later fact of that
patient, an acknowledgement or a tick — so their timestamps do not depend on how often the
caller ticks.

Evaluation: a fact changes some signals (state.py); only the rules reading those signals are
evaluated, and only the open episodes whose resolve conditions read them are re-checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from neurocart.monitor.conditions import AllOf, AnyOf, Condition, Sustained
from neurocart.monitor.episodes import (
    ActionKind,
    Alert,
    AlertAction,
    Contribution,
    Episode,
    alert_text,
    grade_text,
)
from neurocart.monitor.facts import (
    Ack,
    Fact,
    HistoryItem,
    OverdueTask,
    PatientContext,
    Resolve,
    Tick,
)
from neurocart.monitor.ruleset import SEVERITY_RANK, Rule, RuleSet, load_rules
from neurocart.monitor.signals import SIGNALS, SUSTAINED
from neurocart.monitor.state import PatientState

GRADE_CALCULATOR = {
    "crs_grade": "crs",
    "icans_grade": "icans",
    "icans_astct_grade": "icans",
    "icaht_grade": "icaht",
    "iec_hs_grade": "iec_hs",
    "car_hematotox": "car_hematotox",
}
"""Grade signal → the calculator whose reasons explain it in the alert."""
_ZERO = timedelta(0)


class UnknownAlertError(KeyError):
    """No alert with this key."""


class _Patient:
    __slots__ = ("counters", "open", "state")

    def __init__(self, state: PatientState) -> None:
        self.state = state
        self.open: dict[str, Episode] = {}
        self.counters: dict[str, int] = {}


def _sustained(cond: Condition) -> list[Sustained]:
    if isinstance(cond, Sustained):
        return [cond]
    if isinstance(cond, AllOf | AnyOf):
        return [s for item in cond.items for s in _sustained(item)]
    return []


class Engine:
    """Per-patient state, early-warning rules and alert episodes."""

    def __init__(self, rules: RuleSet | None = None) -> None:
        self.rules = rules if rules is not None else load_rules()
        self.routing = self.rules.routing
        self._patients: dict[str, _Patient] = {}
        self._alerts: dict[str, Episode] = {}
        self._rule_list = self.rules.rules
        self._rule_by_id = {r.id: r for r in self._rule_list}
        by_trigger: dict[str, list[int]] = {}
        for i, rule in enumerate(self._rule_list):
            for name in rule.triggers:
                by_trigger.setdefault(name, []).append(i)
        self._by_trigger = {k: tuple(v) for k, v in by_trigger.items()}
        self._sustained = {r.id: _sustained(r.when) for r in self._rule_list}
        # Per-fact lookups, computed once (the rules and the routing policy are frozen).
        self._resolve_reads = {r.id: r.resolve_signals for r in self._rule_list}
        self._resolve_after = {
            r.id: timedelta(hours=r.resolve_after_hours) for r in self._rule_list
        }
        self._max_level = {sev: self.routing.max_level_for(sev) for sev in SEVERITY_RANK}
        self._escalate_after = {sev: self.routing.escalate_after(sev) for sev in SEVERITY_RANK}
        self.before_change: Callable[[str], None] | None = None
        """Called with a patient's study ID before the engine changes anything of that
        patient (state, alert episodes, counters): a snapshot being taken in slices
        (`neurocart.monitor.snapshot.Capture`) keeps the patient as it was."""

    # --- inputs ---

    def set_context(self, context: PatientContext) -> list[AlertAction]:
        """Register or update a patient's context (infusion date, baselines)."""
        p = self._patients.get(context.study_id)
        if p is None:
            p = self._patients[context.study_id] = _Patient(
                PatientState(context, self.rules.settings)
            )
        elif self.before_change is not None:
            self.before_change(context.study_id)
        changed = p.state.set_context(context)
        if p.state.clock is None:  # nothing to time an alert by yet: evaluate with the first fact
            p.state.pending.update(changed)
            return []
        return self._evaluate(p, changed)

    def ingest(self, fact: Fact) -> list[AlertAction]:
        """Fold in one stored fact; returns the alert actions it caused."""
        p = self._patient(fact.study_id)
        if self.before_change is not None:
            self.before_change(fact.study_id)
        clock = p.state.clock
        actions = self._advance(p, fact.time if clock is None or fact.time > clock else clock)
        changed = p.state.apply(fact)
        actions.extend(self._evaluate(p, changed))
        return actions

    def set_overdue(
        self, study_id: str, tasks: Iterable[OverdueTask | Any], at: datetime
    ) -> list[AlertAction]:
        """The critical protocol tasks overdue for a patient at `at` (`pathway.overdue_critical`
        slots or `OverdueTask`s); the complete list, so an empty one clears them."""
        p = self._patient(study_id)
        if self.before_change is not None:
            self.before_change(study_id)
        actions = self._advance(p, at)
        changed = p.state.set_overdue([OverdueTask.from_slot(t) for t in tasks], at)
        actions.extend(self._evaluate(p, changed))
        return actions

    def tick(
        self, now: datetime, overdue: Mapping[str, Sequence[OverdueTask | Any]] | None = None
    ) -> list[AlertAction]:
        """Let time pass to `now`: escalations and timed closes that fell due; with `overdue`
        (study ID → overdue critical tasks, complete), update the overdue-task signal too."""
        actions: list[AlertAction] = []
        if overdue is not None:
            for study_id in sorted(set(overdue) | self._with_overdue()):
                actions.extend(self.set_overdue(study_id, overdue.get(study_id, ()), now))
        # only a patient with an open alert has a transition to fall due (`_advance`)
        for study_id in sorted(sid for sid, p in self._patients.items() if p.open):
            actions.extend(self._advance(self._patients[study_id], now))
        return actions

    def acknowledge(self, alert_key: str, user: str, at: datetime) -> list[AlertAction]:
        """Record that `user` acknowledged the alert at `at`: no further escalation (until an
        upgrade). Returns escalations that fell due before `at`, then the acknowledgement."""
        ep = self._alerts.get(alert_key)
        if ep is None:
            raise UnknownAlertError(alert_key)
        p = self._patients[ep.study_id]
        if self.before_change is not None:
            self.before_change(ep.study_id)
        actions = self._advance(p, at)
        if ep.acknowledged_at is None:
            ep.acknowledged_by, ep.acknowledged_at = user, at
            actions.append(self._action(p, ep, "acknowledge", ep.rule_id, at, user=user))
        return actions

    def resolve(self, alert_key: str, user: str, at: datetime, reason: str) -> list[AlertAction]:
        """Close the alert at `at` because `user` resolved it (`reason`). Returns escalations
        and automatic closes that fell due before `at`, then the close; nothing more when the
        alert has already closed. The patient's state is untouched: if the condition still
        holds, the next fact that meets the rule opens a new episode."""
        ep = self._alerts.get(alert_key)
        if ep is None:
            raise UnknownAlertError(alert_key)
        p = self._patients[ep.study_id]
        if self.before_change is not None:
            self.before_change(ep.study_id)
        actions = self._advance(p, at)
        if ep.closed_at is not None or p.open.get(ep.episode) is not ep:
            return actions
        ep.closed_at = at
        ep.updated_at = at
        del p.open[ep.episode]
        day = p.state.study_day(at)
        text = (
            f"{ep.study_id} · day {day if day is not None else '?'}: {ep.title} — resolved by "
            f"{user}: {reason}; open since {ep.opened_at.isoformat()}."
        )
        actions.append(self._action(p, ep, "close", ep.rule_id, at, text=text, user=user))
        return actions

    def apply(self, item: HistoryItem) -> list[AlertAction]:
        """Any history item: a fact, a context, an acknowledgement, a resolution or a tick."""
        if isinstance(item, PatientContext):
            return self.set_context(item)
        if isinstance(item, Ack):
            return self.acknowledge(item.alert_key, item.user, item.at)
        if isinstance(item, Resolve):
            return self.resolve(item.alert_key, item.user, item.at, item.reason)
        if isinstance(item, Tick):
            return self.tick(item.at, item.overdue)
        return self.ingest(item)

    def run(
        self,
        contexts: Iterable[PatientContext] = (),
        history: Iterable[HistoryItem] = (),
        now: datetime | None = None,
    ) -> list[AlertAction]:
        actions: list[AlertAction] = []
        for context in contexts:
            actions.extend(self.set_context(context))
        for item in history:
            actions.extend(self.apply(item))
        if now is not None:
            actions.extend(self.tick(now))
        return actions

    @classmethod
    def from_history(
        cls,
        contexts: Iterable[PatientContext] = (),
        history: Iterable[HistoryItem] = (),
        *,
        rules: RuleSet | None = None,
        now: datetime | None = None,
    ) -> Engine:
        """A fresh engine with the state the history leads to (its actions discarded)."""
        engine = cls(rules)
        engine.run(contexts, history, now)
        return engine

    @classmethod
    def replay(
        cls,
        contexts: Iterable[PatientContext] = (),
        history: Iterable[HistoryItem] = (),
        *,
        rules: RuleSet | None = None,
        now: datetime | None = None,
    ) -> list[AlertAction]:
        """The actions a fresh engine emits for this history (the alert timeline)."""
        return cls(rules).run(contexts, history, now)

    # --- reading ---

    def alerts(self, study_id: str | None = None, *, open_only: bool = True) -> list[Alert]:
        eps = (
            self._alerts.values()
            if study_id is None
            else (e for e in self._alerts.values() if e.study_id == study_id)
        )
        return [e.snapshot() for e in eps if e.is_open or not open_only]

    def alert(self, alert_key: str) -> Alert:
        ep = self._alerts.get(alert_key)
        if ep is None:
            raise UnknownAlertError(alert_key)
        return ep.snapshot()

    def state(self, study_id: str) -> PatientState:
        return self._patients[study_id].state

    def study_ids(self) -> list[str]:
        return sorted(self._patients)

    def knows(self, study_id: str) -> bool:
        """Whether the engine holds state for this patient."""
        return study_id in self._patients

    def next_due(self) -> datetime | None:
        """The earliest time a timed transition (a close or an escalation) falls due: a tick
        before it emits nothing, so a caller need not tick the engine until then."""
        due: datetime | None = None
        for p in self._patients.values():
            for ep in p.open.values():
                for t in (self._close_due(ep), self._escalation_due(ep)):
                    if t is not None and (due is None or t < due):
                        due = t
        return due

    def snapshot(self) -> dict[str, Any]:
        """Plain data of every patient's state and alerts (to compare two engines)."""
        return {
            sid: {
                "state": p.state.snapshot(),
                "open": sorted(p.open),
                "alerts": [
                    asdict(e.snapshot()) for e in self._alerts.values() if e.study_id == sid
                ],
            }
            for sid, p in sorted(self._patients.items())
        }

    # --- internals ---

    def _patient(self, study_id: str) -> _Patient:
        p = self._patients.get(study_id)
        if p is None:
            p = self._patients[study_id] = _Patient(
                PatientState(PatientContext(study_id), self.rules.settings)
            )
        return p

    def _with_overdue(self) -> set[str]:
        return {sid for sid, p in self._patients.items() if p.state.overdue}

    def _evaluate(self, p: _Patient, changed: set[str]) -> list[AlertAction]:
        if not changed:
            return []
        state = p.state
        now = state.clock
        assert now is not None
        actions: list[AlertAction] = []
        by_trigger = self._by_trigger
        indices: set[int] = set()
        for name in changed:
            hit = by_trigger.get(name)
            if hit:
                indices.update(hit)
        if not indices and not p.open:
            return actions  # the fact touched no signal a rule reads (e.g. heart rate)
        fired: set[tuple[str, str]] = set()
        groups: dict[str, list[Rule]] = {}
        signals = state.signals
        for i in sorted(indices):
            rule = self._rule_list[i]
            window = rule.study_days
            if window is not None:
                day = signals.get("study_day")
                if day is None or not window[0] <= day <= window[1]:
                    continue
            if rule.when.holds(state, changed):
                fired.add((rule.episode, rule.id))
                groups.setdefault(rule.episode, []).append(rule)
        for key, rules in groups.items():
            action = self._fire(p, key, rules, now)
            if action is not None:
                actions.append(action)
        if p.open:
            actions.extend(self._check_resolution(p, changed, fired, now))
        return actions

    def _fire(self, p: _Patient, key: str, rules: list[Rule], now: datetime) -> AlertAction | None:
        """Rules of one episode that fired on the same fact: at most one action."""
        signals = p.state.signals
        grades: list[float] = []
        peaks: dict[str, float | None] = {}
        lead = rules[0]
        severity = lead.severity
        for rule in rules:
            value = signals.get(rule.grade) if rule.grade else None
            g = float(value) if value is not None else None
            if g is not None:
                grades.append(g)
            sev = rule.severity_at(g)
            if SEVERITY_RANK[sev] > SEVERITY_RANK[severity]:
                severity, lead = sev, rule
            peak_value = signals.get(rule.peak) if rule.peak else None
            peaks[rule.id] = float(peak_value) if isinstance(peak_value, int | float) else None
        grade = max(grades) if grades else None
        disciplines = tuple(dict.fromkeys(d for r in rules for d in r.disciplines))
        ep = p.open.get(key)
        if ep is None:
            seq = p.counters.get(key, 0) + 1
            p.counters[key] = seq
            study_id = p.state.context.study_id
            ep = Episode(
                key=f"{study_id}:{key}:{seq}",
                study_id=study_id,
                episode=key,
                opened_at=now,
                severity=severity,
                grade=grade,
                disciplines=disciplines,
                rule_id=lead.id,
                title=lead.title,
                text="",
                recommended="",
                source=lead.source,
                values=(),
                updated_at=now,
                escalation_base=now,
            )
            for rule in rules:
                ep.contributions[rule.id] = Contribution(peak=peaks[rule.id])
            p.open[key] = ep
            self._alerts[ep.key] = ep
            return self._describe(p, ep, lead, rules, "open", now)
        new_contributor = False
        worse = False
        for rule in rules:
            c = ep.contributions.get(rule.id)
            if c is None:
                new_contributor = True
                c = ep.contributions[rule.id] = Contribution(peak=peaks[rule.id])
            c.resolving_since = None
            peak = self._worse(rule, c.peak, peaks[rule.id])
            if peak != c.peak:
                worse = True
                c.peak = peak
        merged = tuple(dict.fromkeys(ep.disciplines + disciplines))
        severity_up = SEVERITY_RANK[severity] > SEVERITY_RANK[ep.severity]
        grade_up = grade is not None and (ep.grade is None or grade > ep.grade)
        if severity_up or grade_up or merged != ep.disciplines:
            if severity_up:
                ep.severity = severity
            if grade_up:
                ep.grade = grade
            ep.disciplines = merged
            ep.rule_id, ep.title, ep.source = lead.id, lead.title, lead.source
            ep.acknowledged_by = ep.acknowledged_at = None
            ep.escalation_base = now
            return self._describe(p, ep, lead, rules, "upgrade", now)
        if new_contributor or worse:
            return self._describe(p, ep, lead, rules, "update", now)
        return None

    @staticmethod
    def _worse(rule: Rule, old: float | None, new: float | None) -> float | None:
        if new is None:
            return old
        if old is None:
            return new
        return max(old, new) if rule.worse == "higher" else min(old, new)

    def _check_resolution(
        self, p: _Patient, changed: set[str], fired: set[tuple[str, str]], now: datetime
    ) -> list[AlertAction]:
        actions: list[AlertAction] = []
        reads = self._resolve_reads
        for key in list(p.open):
            ep = p.open[key]
            rules = [self._rule_by_id[r] for r in ep.contributions if r in self._rule_by_id]
            if not any((key, r.id) in fired or not reads[r.id].isdisjoint(changed) for r in rules):
                continue
            for rule in rules:
                c = ep.contributions[rule.id]
                if (key, rule.id) in fired:
                    c.resolving_since = None
                elif rule.resolve is not None and rule.resolve.holds(p.state, changed):
                    if c.resolving_since is None:
                        c.resolving_since = now
                else:
                    c.resolving_since = None
            due = self._close_due(ep)
            if due is not None and due <= now:
                actions.append(self._close(p, ep, due))
        return actions

    def _close_due(self, ep: Episode) -> datetime | None:
        due: datetime | None = None
        for rule_id, c in ep.contributions.items():
            if c.resolving_since is None:
                return None
            t = c.resolving_since + self._resolve_after.get(rule_id, _ZERO)
            due = t if due is None or t > due else due
        return due

    def _escalation_due(self, ep: Episode) -> datetime | None:
        sev = ep.severity
        max_level = self._max_level.get(sev)
        if max_level is None:
            max_level = self.routing.max_level_for(sev)
        if ep.acknowledged_at is not None or ep.level >= max_level:
            return None
        after = (
            self._escalate_after[sev]
            if sev in self._escalate_after
            else self.routing.escalate_after(sev)
        )
        if after is None or ep.escalation_base is None:
            return None
        return ep.escalation_base + after

    def _advance(self, p: _Patient, t: datetime) -> list[AlertAction]:
        """Emit the transitions that fell due at or before `t`, in time order."""
        actions: list[AlertAction] = []
        while p.open:
            best: tuple[datetime, int, str] | None = None
            for key, ep in p.open.items():
                close = self._close_due(ep)
                if close is not None and close <= t:
                    cand = (close, 0, key)
                    best = cand if best is None or cand < best else best
                esc = self._escalation_due(ep)
                if esc is not None and esc <= t:
                    cand = (esc, 1, key)
                    best = cand if best is None or cand < best else best
            if best is None:
                break
            due, kind, key = best
            ep = p.open[key]
            if self.before_change is not None:
                self.before_change(ep.study_id)
            if kind == 0:
                actions.append(self._close(p, ep, due))
            else:
                ep.level += 1
                ep.escalation_base = due
                actions.append(self._escalate(p, ep, due))
        return actions

    def _close(self, p: _Patient, ep: Episode, at: datetime) -> AlertAction:
        ep.closed_at = at
        ep.updated_at = at
        del p.open[ep.episode]
        resolved = "; ".join(
            self._rule_by_id[r].resolve.describe()  # type: ignore[union-attr]
            for r in ep.contributions
            if r in self._rule_by_id and self._rule_by_id[r].resolve is not None
        )
        day = p.state.study_day(at)
        text = (
            f"{ep.study_id} · day {day if day is not None else '?'}: {ep.title} — resolved "
            f"({resolved}); open since {ep.opened_at.isoformat()}."
        )
        return self._action(p, ep, "close", ep.rule_id, at, text=text)

    def _escalate(self, p: _Patient, ep: Episode, at: datetime) -> AlertAction:
        tier = self.routing.tier(ep.level, ep.disciplines)
        after = self.routing.escalate_after(ep.severity)
        minutes = int(after.total_seconds() // 60) if after is not None else 0
        text = (
            f"ESCALATION level {ep.level} (not acknowledged within {minutes} min) → "
            f"{', '.join(tier)}: {ep.text}"
        )
        return self._action(p, ep, "escalate", ep.rule_id, at, text=text, disciplines=tier)

    def _describe(
        self,
        p: _Patient,
        ep: Episode,
        lead: Rule,
        rules: list[Rule],
        kind: ActionKind,
        now: datetime,
    ) -> AlertAction:
        """Refresh the episode's text and values from the fired rules and emit the action."""
        signals = p.state.signals
        names = dict.fromkeys(
            [*lead.displayed, *(n for r in rules if r is not lead for n in r.displayed)]
        )
        values = tuple((name, signals.get(name)) for name in names)
        shown = [SIGNALS[name].format(value) for name, value in values]
        for rule in rules:
            for cond in self._sustained[rule.id]:
                days = cond.run_days(p.state)
                label = SIGNALS[cond.signal]
                clause = f"{label.label} {cond.op} {cond.value:g} {label.unit}"
                shown.append(SUSTAINED(clause=clause, days=days))
                values += ((f"{cond.signal}_run_days", days),)
        recommended = lead.action_at(ep.grade)
        ep.values = values
        ep.recommended = recommended
        grade_label = SIGNALS[lead.grade].label if lead.grade else "grade"
        ep.text = alert_text(
            ep.study_id,
            p.state.study_day(now),
            lead.title,
            grade_text(grade_label, ep.grade),
            shown,
            recommended,
            lead.source,
        )
        ep.updated_at = now
        return self._action(p, ep, kind, lead.id, now, title=lead.title, source=lead.source)

    def _action(
        self,
        p: _Patient,
        ep: Episode,
        kind: ActionKind,
        rule_id: str,
        at: datetime,
        *,
        text: str | None = None,
        title: str | None = None,
        source: str | None = None,
        disciplines: tuple[str, ...] | None = None,
        user: str | None = None,
    ) -> AlertAction:
        rule = self._rule_by_id.get(rule_id)
        reasons: tuple[str, ...] = ()
        if rule is not None and rule.grade in GRADE_CALCULATOR:
            result = p.state.results.get(GRADE_CALCULATOR[rule.grade])
            if result is not None:
                reasons = tuple(result.reasons)
        return AlertAction(
            kind=kind,
            alert_key=ep.key,
            study_id=ep.study_id,
            episode=ep.episode,
            rule_id=rule_id,
            at=at,
            study_day=p.state.study_day(at),
            severity=ep.severity,
            grade=ep.grade,
            title=title if title is not None else ep.title,
            text=text if text is not None else ep.text,
            recommended=ep.recommended,
            source=source if source is not None else ep.source,
            values=ep.values,
            disciplines=disciplines if disciplines is not None else ep.disciplines,
            level=ep.level,
            user=user,
            reasons=reasons,
        )
