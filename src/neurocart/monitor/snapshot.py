"""The engine's whole state as plain JSON-able data, and back: what replay would rebuild.

    data = snapshot.dump(engine)                 # dicts, lists, str, int, float, bool, None
    engine = snapshot.load(data, rules)          # an engine in exactly that state

A new leader restores the state at a stored snapshot and replays only the journal after it
(`neurocart.services.snapshots`), instead of replaying the whole journal. The restored
engine must behave as the replayed one on every later input, so everything a later input
reads is kept: each patient's context, clock, signals (and their previous values), time
series, calculator results (their reasons are quoted in alerts), events, neurological
findings, daily ANC and day labs, baselines, overdue tasks, recorded grades, grade times,
and every episode (open and closed) with its contributions, escalation level and base, and
the per-episode counters. Memos that only save work (`PatientState._last_calc`, the shared
calculator cache) are left out: recomputing gives the same answer.

Explicit field lists, no pickle: the data comes back from a database, and decoding it must
never run code. `fingerprint` names the rules and derivation settings a snapshot was made
with (and this format and the neurocart version): a snapshot of another fingerprint is not
loaded, because the same facts under other rules lead to another state.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from neurocart import __version__
from neurocart.monitor.engine import Engine, _Patient
from neurocart.monitor.episodes import Contribution, Episode
from neurocart.monitor.facts import Event, OverdueTask, PatientContext
from neurocart.monitor.ruleset import RuleSet
from neurocart.monitor.state import PatientState, Series, _Neuro
from neurocart.standards import Result

FORMAT = 3
"""Bumped whenever the data below changes shape or meaning."""


class SnapshotError(ValueError):
    """The data is not a snapshot this code can load (the caller replays instead)."""


def fingerprint(rules: RuleSet) -> str:
    """SHA-256 (hex) of the format, the neurocart version, the rules, the derivation
    settings and the routing policy: equal only when a snapshot's state is the state these
    rules would rebuild. The rule set is frozen dataclasses all the way down, so its `repr`
    is its content."""
    text = repr((FORMAT, __version__, rules.rules, rules.settings, rules.routing))
    return hashlib.sha256(text.encode()).hexdigest()


# --- small codecs ---


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _context(c: PatientContext) -> dict[str, Any]:
    return {
        "study_id": c.study_id,
        "infusion_at": _t(c.infusion_at),
        "ld_start_at": _t(c.ld_start_at),
        "diagnosis": c.diagnosis,
        "baseline_ice": c.baseline_ice,
        "baseline_labs": dict(c.baseline_labs),
    }


def _context_from(d: dict[str, Any]) -> PatientContext:
    return PatientContext(
        d["study_id"],
        infusion_at=_dt(d["infusion_at"]),
        ld_start_at=_dt(d["ld_start_at"]),
        diagnosis=d["diagnosis"],
        baseline_ice=d["baseline_ice"],
        baseline_labs=dict(d["baseline_labs"]),
    )


def _event(e: Event) -> list[Any]:
    return [
        e.study_id, e.type, _t(e.onset_at), _t(e.end_at), e.grade, e.term, e.drug,
        dict(e.details), e.id,
    ]  # fmt: skip


def _event_from(v: list[Any]) -> Event:
    sid, type_, onset, end, grade, term, drug, details, id_ = v
    return Event(sid, type_, _dt(onset), _dt(end), grade, term, drug, details, id_)  # type: ignore[arg-type]


def _task(t: OverdueTask) -> list[Any]:
    return [t.task_id, t.title, t.discipline, t.index, _t(t.window_end)]


def _task_from(v: list[Any]) -> OverdueTask:
    return OverdueTask(v[0], v[1], v[2], v[3], _dt(v[4]))


def _recorded(v: tuple[Any, ...] | None) -> list[Any] | None:
    return None if v is None else [_t(v[0]), *v[1:]]


def _recorded_from(v: list[Any] | None) -> Any:
    return None if v is None else (_dt(v[0]), *v[1:])


def _values(values: tuple[tuple[str, Any], ...]) -> list[list[Any]]:
    return [[k, v] for k, v in values]


def _values_from(values: list[list[Any]]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v) for k, v in values)


# --- patient state ---


def _state(s: PatientState, results: dict[int, int], table: list[dict[str, Any]]) -> dict[str, Any]:
    def result_ref(r: Result) -> int:
        ref = results.get(id(r))
        if ref is None:  # calculator results are shared (memoized): each stored once
            ref = results[id(r)] = len(table)
            table.append(r.model_dump(mode="json"))
        return ref

    n = s.neuro
    return {
        "context": _context(s.context),
        "clock": _t(s.clock),
        "signals": s.signals,
        "previous": s.previous,
        "series": {
            code: [[_t(t) for t in x.times], x.values, x.retention.total_seconds(), x._prune_at]
            for code, x in s.series.items()
        },
        "results": {name: result_ref(r) for name, r in s.results.items()},
        "problems": list(s.problems),
        "events": {cat: [_event(e) for e in evs] for cat, evs in s.events.items()},
        "neuro": {
            "ice": n.ice,
            "ice_at": _t(n.ice_at),
            "pre_infusion_ice": _recorded(n.pre_infusion_ice),
            "domains": n.domains,
            "seizure_events": [_event(e) for e in n.seizure_events],
        },
        "anc_daily": [[d, v] for d, v in s.anc_daily.items()],
        "day_labs": [[d, labs] for d, labs in s.day_labs.items()],
        "baseline_labs": s.baseline_labs,
        "overdue": [_task(t) for t in s.overdue],
        "crs_recorded": _recorded(s.crs_recorded),
        "crs_in_force": _recorded(s.crs_in_force),
        "icans_recorded": _recorded(s.icans_recorded),
        "grade_times": {k: _t(v) for k, v in s.grade_times.items()},
        "pending": sorted(s.pending),
        "timed": None if s._timed is None else [_t(s._timed[0]), _t(s._timed[1])],
    }


def _state_from(d: dict[str, Any], rules: RuleSet, results: list[Result]) -> PatientState:
    s = PatientState(_context_from(d["context"]), rules.settings)
    s.clock = _dt(d["clock"])
    s.signals = dict(d["signals"])
    s.previous = dict(d["previous"])
    for code, (times, values, retention, prune_at) in d["series"].items():
        series = Series(timedelta(seconds=retention))
        series.times = [datetime.fromisoformat(t) for t in times]
        series.values = list(values)
        series._prune_at = prune_at
        s.series[code] = series
    s.results = {name: results[ref] for name, ref in d["results"].items()}
    s.problems = deque(d["problems"], maxlen=s.problems.maxlen)
    s.events = {cat: [_event_from(e) for e in evs] for cat, evs in d["events"].items()}
    n = d["neuro"]
    s.neuro = _Neuro(
        ice=n["ice"],
        ice_at=_dt(n["ice_at"]),
        pre_infusion_ice=_recorded_from(n["pre_infusion_ice"]),
        domains=dict(n["domains"]),
        seizure_events=[_event_from(e) for e in n["seizure_events"]],
    )
    s.anc_daily = {int(day): v for day, v in d["anc_daily"]}
    s.day_labs = {int(day): dict(labs) for day, labs in d["day_labs"]}
    s.baseline_labs = dict(d["baseline_labs"])
    s.overdue = tuple(_task_from(t) for t in d["overdue"])
    s.crs_recorded = _recorded_from(d["crs_recorded"])
    s.crs_in_force = _recorded_from(d["crs_in_force"])
    s.icans_recorded = _recorded_from(d["icans_recorded"])
    s.grade_times = {k: datetime.fromisoformat(v) for k, v in d["grade_times"].items()}
    s.pending = set(d["pending"])
    timed = d["timed"]
    s._timed = None if timed is None else (_dt(timed[0]), _dt(timed[1]))  # type: ignore[assignment]
    return s


# --- episodes ---


def _episode(e: Episode) -> dict[str, Any]:
    return {
        "key": e.key,
        "study_id": e.study_id,
        "episode": e.episode,
        "opened_at": _t(e.opened_at),
        "severity": e.severity,
        "grade": e.grade,
        "disciplines": list(e.disciplines),
        "rule_id": e.rule_id,
        "title": e.title,
        "text": e.text,
        "recommended": e.recommended,
        "source": e.source,
        "values": _values(e.values),
        "updated_at": _t(e.updated_at),
        "closed_at": _t(e.closed_at),
        "acknowledged_by": e.acknowledged_by,
        "acknowledged_at": _t(e.acknowledged_at),
        "level": e.level,
        "escalation_base": _t(e.escalation_base),
        "contributions": [
            [rule, c.peak, _t(c.resolving_since)] for rule, c in e.contributions.items()
        ],
    }


def _episode_from(d: dict[str, Any]) -> Episode:
    return Episode(
        key=d["key"],
        study_id=d["study_id"],
        episode=d["episode"],
        opened_at=datetime.fromisoformat(d["opened_at"]),
        severity=d["severity"],
        grade=d["grade"],
        disciplines=tuple(d["disciplines"]),
        rule_id=d["rule_id"],
        title=d["title"],
        text=d["text"],
        recommended=d["recommended"],
        source=d["source"],
        values=_values_from(d["values"]),
        updated_at=datetime.fromisoformat(d["updated_at"]),
        closed_at=_dt(d["closed_at"]),
        acknowledged_by=d["acknowledged_by"],
        acknowledged_at=_dt(d["acknowledged_at"]),
        level=d["level"],
        escalation_base=_dt(d["escalation_base"]),
        contributions={
            rule: Contribution(peak=peak, resolving_since=_dt(since))
            for rule, peak, since in d["contributions"]
        },
    )


# --- the engine ---


def _patient(p: _Patient, results: dict[int, int], table: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "state": _state(p.state, results, table),
        "open": {key: ep.key for key, ep in p.open.items()},
        "counters": dict(p.counters),
    }


def dump(engine: Engine) -> dict[str, Any]:
    """The engine's state as plain data (JSON-able; to be encoded before the engine takes
    another input: lists and dicts of the state may be shared)."""
    results: dict[int, int] = {}
    table: list[dict[str, Any]] = []
    patients = {sid: _patient(p, results, table) for sid, p in engine._patients.items()}
    return {
        "format": FORMAT,
        "patients": patients,
        "alerts": [_episode(e) for e in engine._alerts.values()],
        "results": table,
    }


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class Capture:
    """The engine's state at the moment this was made, as the JSON text of `dump`, encoded a
    slice at a time while the engine goes on taking inputs.

        capture = snapshot.Capture(engine)
        while not capture.advance(time.perf_counter() + 0.01):
            ...                                  # the engine takes inputs meanwhile
        text = "".join(capture.pieces())         # json.loads(text) == dump(engine) as it was

    Copy-on-write per patient: a patient is encoded (its state, its open and closed alert
    episodes, its counters) either in its turn or, when the engine is about to change it
    first, right then (`Engine.before_change`), so every patient is taken as it was at the
    start. Patients and episodes that appear later are not in it. Each patient's data is
    turned into JSON text at once, so nothing the engine later changes can reach it; the
    calculator results are kept alive until the end, so their shared table cannot mix up
    two results that happened to get the same `id`.

    Why: the leader encodes a snapshot every few thousand journal entries. Encoding a ward
    of a thousand patients in one go takes a third of a second (three at ten thousand),
    during which no fact reaches an alert; in slices, an alert waits for one slice at most.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._order = list(engine._patients)
        self._todo = dict(engine._patients)
        self._alert_order = list(engine._alerts)
        self._episodes: dict[str, list[Episode]] = {}
        for ep in engine._alerts.values():
            self._episodes.setdefault(ep.study_id, []).append(ep)
        self._patients: dict[str, str] = {}
        self._alerts: dict[str, str] = {}
        self._refs: dict[int, int] = {}
        self._table: list[dict[str, Any]] = []
        self._kept: list[Result] = []
        for sid in set(self._episodes) - set(self._todo):  # episodes of no patient (none)
            self._take_episodes(sid)
        engine.before_change = self._before_change

    @property
    def done(self) -> bool:
        return not self._todo

    def _before_change(self, study_id: str) -> None:
        if study_id in self._todo:
            self._take(study_id)

    def _take_episodes(self, study_id: str) -> None:
        for ep in self._episodes.pop(study_id, ()):
            self._alerts[ep.key] = _json(_episode(ep))

    def _take(self, study_id: str) -> None:
        p = self._todo.pop(study_id)
        before = len(self._table)
        self._patients[study_id] = _json(_patient(p, self._refs, self._table))
        if len(self._table) > before:  # hold the results whose ids the table is keyed by
            self._kept.extend(p.state.results.values())
        self._take_episodes(study_id)

    def advance(self, deadline: float) -> bool:
        """Encode patients in their turn until `time.perf_counter()` passes `deadline`;
        True when every patient is encoded."""
        todo = self._todo
        while todo:
            self._take(next(iter(todo)))
            if time.perf_counter() >= deadline:
                break
        if not todo:
            self.close()
        return not todo

    def close(self) -> None:
        """Stop watching the engine (when done, or when the capture is abandoned)."""
        if self._engine.before_change == self._before_change:
            self._engine.before_change = None

    def pieces(self) -> Iterator[str]:
        """The JSON text of the captured state, in pieces (after `advance` returned True)."""
        if self._todo:
            raise RuntimeError("the capture is not complete")
        yield f'{{"format":{FORMAT},"patients":{{'
        for i, sid in enumerate(self._order):
            yield ("," if i else "") + _json(sid) + ":" + self._patients[sid]
        yield '},"alerts":['
        for i, key in enumerate(self._alert_order):
            yield ("," if i else "") + self._alerts[key]
        yield '],"results":['
        for i, result in enumerate(self._table):
            yield ("," if i else "") + _json(result)
        yield "]}"


def load(data: dict[str, Any], rules: RuleSet | None = None) -> Engine:
    """An engine in the state `data` describes (`dump`'s output); `SnapshotError` when the
    data is not of this format or does not fit together (never a half-loaded engine)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError(f"not a format {FORMAT} engine snapshot")
    engine = Engine(rules)
    try:
        results = [Result.model_validate(r) for r in data["results"]]
        for ep_data in data["alerts"]:
            ep = _episode_from(ep_data)
            engine._alerts[ep.key] = ep
        for sid, p_data in data["patients"].items():
            p = _Patient(_state_from(p_data["state"], engine.rules, results))
            p.open = {key: engine._alerts[alert] for key, alert in p_data["open"].items()}
            p.counters = {k: int(v) for k, v in p_data["counters"].items()}
            engine._patients[sid] = p
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise SnapshotError(
            f"engine snapshot does not fit together ({type(exc).__name__})"
        ) from exc
    return engine
