"""The care protocol's procedural tasks, done by the simulated team as a real team does them.

The clinical model (acute.py, kinetics.py, outcomes.py) simulates what disease and treatment
do; a team also records the protocol's procedures: screening results, ECG, washout, product
shipped, premedication, the ICE score before infusion... `follow_protocol` computes each
patient's schedule under the protocol `SimParams.protocol_id` with the pathway engine (the
protocol is data: no task is named here) and gives every slot the clinical facts leave open
the facts that complete it, inside its window, with probability `protocol_adherence`
(`protocol_adherence_critical` for critical tasks), a share `protocol_late_share` of them in
the last quarter of the window. So a few slots stay open, as on a real ward.

What completes an open slot (values and details: `results.py`):

- ``require = "all"``: one fact per key the slot lacks, at the time of a key it has (one blood
  draw, one set of vitals), else at the drawn time;
- "any": the first listed event (the procedure) plus the first listed observation that can be
  valued (its result, e.g. echocardiogram + LVEF); with neither, the first assessment the
  patient's record can build.

Conditions on attributes that facts decide (an anti-HBc result decides `anti_hbc_positive`)
are re-read after each pass, and newly applicable slots are done after the deciding result.

Times: anchors as the store reads a course (`TreatmentCourse.anchor_times`: dates at 00:00
UTC, infusion at its instant). The engine's `now` is each patient's horizon, so slots before
and after the simulation's `now` are done alike and `cohort._frames` splits the facts: the
frames hold what is done by `now`, `Simulation.future` the rest. Nothing is added after a
patient's horizon (death or the end of simulated follow-up). The walk does not pass the death
to the engine as an end of follow-up: with `now` at the death, that would only withhold the
slots whose window was open while the patient lived, which a team that cannot know the
future does; `frame_schedules` passes it, as `services.schedule` does.

Speed: a vectorized pre-check proves most slots done by the clinical facts — a fact of every
key in the part of the slot's window no other slot of the task shares completes it under the
engine's greedy matching — so the engine runs per patient only on tasks with unproven slots,
with the facts of their keys around those slots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from neurocart.frames import CohortFrames
from neurocart.gcpause import paused_cyclic_gc
from neurocart.pathway import (
    PATIENT_DIED,
    STANDARD_ANCHORS,
    Fact,
    Protocol,
    Schedule,
    SlotState,
    Task,
    compute_schedule,
    load_shipped,
    unmet_condition,
)
from neurocart.simulate.course import Course
from neurocart.simulate.factindex import MAX, Key, Keyer, index_facts, schedule_rules
from neurocart.simulate.facts import CODES, NAT, US_PER_DAY, Facts, FloatArr, IntArr
from neurocart.simulate.params import SimParams
from neurocart.simulate.patients import Baseline
from neurocart.simulate.results import (
    RELAPSE,
    Context,
    add_assessments,
    add_events,
    can_value,
    draw_bridging,
    draw_latent,
    observation_values,
)

BoolArr = npt.NDArray[np.bool_]
_US = timedelta(microseconds=1)
_OPEN = (SlotState.DUE, SlotState.OVERDUE)
LUMBAR_PUNCTURE: Key = ("event", "lumbar_puncture")
CSF_CODES = tuple(code for code, (_, specimen) in CODES.items() if specimen == "csf")


# --- timing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Timing:
    """A task's slots relative to its anchor, in µs; x_lo..x_hi is the part of each window
    no other slot of the task shares (empty when x_lo > x_hi)."""

    offset: IntArr
    start: IntArr
    end: IntArr
    x_lo: IntArr
    x_hi: IntArr


def _timing(task: Task) -> _Timing:
    starts, ends = task.window_bounds
    start = np.array([s // _US for s in starts], dtype=np.int64)
    end = np.array([e // _US for e in ends], dtype=np.int64)
    x_lo, x_hi = start.copy(), end.copy()
    x_lo[1:] = np.maximum(start[1:], end[:-1] + 1)  # ends ascend: the previous end is the max
    x_hi[:-1] = np.minimum(end[:-1], start[1:] - 1)  # starts ascend: the next start is the min
    offset = np.array([o // _US for o in task.offsets], dtype=np.int64)
    return _Timing(offset, start, end, x_lo, x_hi)


def anchor_times(c: Course) -> dict[str, IntArr]:
    """Anchors in µs as the store reads a course: dates at 00:00 UTC, infusion at its instant."""
    return {
        "enrolment": c.enrolment // US_PER_DAY * US_PER_DAY,
        "apheresis": c.apheresis // US_PER_DAY * US_PER_DAY,
        "ld_start": c.ld_start // US_PER_DAY * US_PER_DAY,
        "infusion": c.infusion,
    }


def _datetimes(us: IntArr) -> list[datetime]:
    stamps = pd.DatetimeIndex(np.asarray(us, dtype=np.int64).astype("datetime64[us]"), tz=UTC)
    return list(stamps.to_pydatetime())


@dataclass(frozen=True)
class _Plan:
    protocol: Protocol
    tasks: list[Task]
    timing: list[_Timing]


# --- patient attributes (what task conditions test) ---------------------------------------------


def _static_attributes(b: Baseline, c: Course) -> list[dict[str, Any]]:
    """As `services.schedule.patient_attributes` reads them from the store."""
    _, anti_cd20, fold = schedule_rules()
    years = pd.to_datetime(c.enrolment, unit="us", utc=True).year.to_numpy()
    birth = np.round(years - b.age).astype(np.int64)
    out = []
    for i in range(b.n):
        therapies = [fold(t) for t in b.prior_therapies[i]]
        out.append(
            {
                "diagnosis": str(b.diagnosis[i]),
                "subtype": str(b.subtype[i]),
                "sex": str(b.sex[i]),
                "birth_year": int(birth[i]),
                "prior_therapies": therapies,
                "prior_anti_cd20": any(t in anti_cd20 for t in therapies),
            }
        )
    return out


def _dynamic_keys() -> list[Key]:
    return [("observation", schedule_rules()[0]), LUMBAR_PUNCTURE] + [
        ("observation", code) for code in CSF_CODES
    ]


def _dynamic_attributes(
    w: Context,
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, IntArr]]:
    """Attributes that facts decide (as `patient_attributes` does), and when they became
    known (µs; NAT: not known). `anti_hbc_positive`: the latest anti-HBc result ≥ 1, None
    until one is recorded; `cns_compartment_studied`: a lumbar puncture or a CSF observation."""
    n = w.b.n
    s = w.stream(("observation", schedule_rules()[0]))
    hbc = np.full(n, None, dtype=object)
    hbc_at = np.full(n, NAT, dtype=np.int64)
    recorded = s.t <= w.horizon[s.pid]
    pid, t, value = s.pid[recorded], s.t[recorded], s.payload[recorded]
    if pid.size:
        last = np.r_[pid[1:] != pid[:-1], True]  # sorted by patient, then time
        hbc[pid[last]] = [bool(v >= 1) for v in value[last]]
        hbc_at[pid[last]] = t[last]
    cns_at = np.full(n, MAX, dtype=np.int64)
    for key in _dynamic_keys()[1:]:
        s = w.stream(key)
        recorded = s.t <= w.horizon[s.pid]
        np.minimum.at(cns_at, s.pid[recorded], s.t[recorded])
    cns = cns_at < MAX
    values = {"anti_hbc_positive": hbc, "cns_compartment_studied": cns.astype(object)}
    known = {"anti_hbc_positive": hbc_at, "cns_compartment_studied": np.where(cns, cns_at, NAT)}
    return values, known


# --- the walk ----------------------------------------------------------------------------------


def _keys(tasks: Iterable[Task]) -> list[Key]:
    return sorted({k for t in tasks for k in t.completed_by.keys})


def follow_protocol(
    f: Facts,
    b: Baseline,
    c: Course,
    rng: np.random.Generator,
    p: SimParams,
    protocol: Protocol | None = None,
) -> int:
    """Add to `f` the facts that complete the protocol's open slots; returns how many slots.

    `protocol` defaults to the shipped `p.protocol_id` (the one the courses name). Draws from
    `rng` after the clinical model, so the clinical facts do not depend on this step.
    """
    # the walk makes millions of small acyclic objects (facts, slots, input dicts): without
    # the cyclic collector's re-scans of the cohort it takes half the time at 10,000 patients
    with paused_cyclic_gc():
        return _follow(f, b, c, rng, p, protocol or load_shipped(p.protocol_id))


def _follow(
    f: Facts, b: Baseline, c: Course, rng: np.random.Generator, p: SimParams, protocol: Protocol
) -> int:
    n = b.n
    tasks = list(protocol.tasks)
    plan = _Plan(protocol, tasks, [_timing(t) for t in tasks])
    anchors = anchor_times(c)
    base = np.minimum(c.enrolment, anchors["enrolment"])
    for task, tim in zip(tasks, plan.timing, strict=True):
        if task.anchor in anchors:
            base = np.minimum(base, anchors[task.anchor] + int(tim.start.min()))
    keyer = Keyer(base - US_PER_DAY, np.maximum(c.horizon, base))
    streams = index_facts(f, _keys(tasks) + _dynamic_keys() + [RELAPSE], keyer)
    w = Context(f, b, c, p, rng, anchors, c.horizon, keyer, streams,
                draw_latent(b, rng, p), draw_bridging(b, rng, p))  # fmt: skip
    static = _static_attributes(b, c)
    values, known = _dynamic_attributes(w)
    unsure = [_unsure(w, task, tim) for task, tim in zip(tasks, plan.timing, strict=True)]
    conditional = [i for i, t in enumerate(tasks) if set(t.condition) & set(values)]
    done = 0
    for _ in range(4):  # a pass can decide an attribute that makes more tasks apply
        attrs = [static[i] | {k: v[i] for k, v in values.items()} for i in range(n)]
        for j, task in enumerate(tasks):  # not applicable: the engine would only say so
            if task.condition:
                rows = np.flatnonzero(unsure[j].any(axis=1))
                unmet = [r for r in rows if unmet_condition(task, attrs[r])]
                unsure[j][unmet] = False
        done += _pass(w, plan, unsure, attrs, _known_floor(tasks, known, n))
        if not conditional:
            break
        w.streams.update(index_facts(f, _dynamic_keys(), keyer))
        before, (values, known) = values, _dynamic_attributes(w)
        attrs = [static[i] | {k: v[i] for k, v in values.items()} for i in range(n)]
        unsure = [np.zeros((n, tim.start.size), dtype=bool) for tim in plan.timing]
        for i in conditional:
            changed = np.logical_or.reduce(
                [values[a] != before[a] for a in tasks[i].condition if a in values]
            )
            applies = np.array([bool(changed[r]) and not unmet_condition(tasks[i], attrs[r])
                                for r in range(n)], dtype=bool)  # fmt: skip
            unsure[i] = _opened(w, tasks[i], plan.timing[i]) & applies[:, None]
        if not any(u.any() for u in unsure):
            break
        w.streams.update(index_facts(f, _keys(tasks[i] for i in conditional), keyer))
    return done


def _known_floor(tasks: list[Task], known: Mapping[str, IntArr], n: int) -> IntArr:
    """Per (patient, task): the earliest time a completing fact may have — when the facts that
    decide its condition were recorded (NAT: no such fact)."""
    out = np.full((n, len(tasks)), NAT, dtype=np.int64)
    for i, task in enumerate(tasks):
        for name in task.condition:
            if name in known:
                out[:, i] = np.maximum(out[:, i], known[name])
    return out


def _opened(w: Context, task: Task, tim: _Timing) -> BoolArr:
    """Per (patient, slot): the window opens by the patient's horizon."""
    if task.anchor not in w.anchors:
        return np.zeros((w.b.n, tim.start.size), dtype=bool)
    out: BoolArr = (w.anchors[task.anchor][:, None] + tim.start[None, :]) <= w.horizon[:, None]
    return out


def _unsure(w: Context, task: Task, tim: _Timing) -> BoolArr:
    """Per (patient, slot): opened by the horizon and not proven done by the facts so far."""
    opened = _opened(w, task, tim)
    if not opened.any():
        return opened
    a = w.anchors[task.anchor][:, None]
    n, k = opened.shape
    pid = np.broadcast_to(np.arange(n)[:, None], (n, k)).ravel()
    lo = (a + tim.x_lo[None, :]).ravel()
    hi = (a + tim.x_hi[None, :]).ravel()
    found = [w.stream(key).count(w.keyer, pid, lo, hi) > 0 for key in task.completed_by.keys]
    if task.completed_by.require == "all":
        ok = np.logical_and.reduce(found)
    else:
        ok = np.logical_or.reduce(found)
    ok = ok.reshape(n, k) & (tim.x_lo <= tim.x_hi)[None, :]
    out: BoolArr = opened & ~ok
    return out


def _pass(
    w: Context, plan: _Plan, unsure: list[BoolArr], attrs: list[dict[str, Any]], floor: IntArr
) -> int:
    """Run the engine on each patient's tasks with unproven slots; complete those it finds open."""
    needing = np.stack([u.any(axis=1) for u in unsure], axis=1)
    todo = np.flatnonzero(needing.any(axis=1))
    if not todo.size:
        return 0
    facts = _engine_facts(w, plan, unsure)
    anchor_dt = {name: _datetimes(v) for name, v in w.anchors.items()}
    horizon_dt = _datetimes(w.horizon)
    index_of = {t.id: i for i, t in enumerate(plan.tasks)}
    restricted: dict[bytes, Protocol] = {}
    requests: list[tuple[int, int, int]] = []
    for i in todo:
        mask = needing[i]
        proto = restricted.get(mask.tobytes())
        if proto is None:
            chosen = [t for t, m in zip(plan.tasks, mask, strict=True) if m]
            proto = restricted[mask.tobytes()] = plan.protocol.model_copy(update={"tasks": chosen})
        anchors = {a: anchor_dt[a][i] for a in STANDARD_ANCHORS if a in anchor_dt}
        schedule = compute_schedule(
            proto, anchors, facts.get(int(i), []), now=horizon_dt[i], patient=attrs[i]
        )
        for slot in schedule.slots:
            if slot.state in _OPEN:
                j = index_of[slot.task.id]
                if unsure[j][i, slot.index]:
                    requests.append((int(i), j, slot.index))
    req = np.array(requests, dtype=np.int64).reshape(-1, 3)
    return _complete(w, plan, req[:, 0], req[:, 1], req[:, 2], floor)


def _engine_facts(w: Context, plan: _Plan, unsure: list[BoolArr]) -> dict[int, list[Fact]]:
    """Per patient, the facts (up to the horizon) of the keys of its unproven tasks, from the
    window of the slot before the first unproven one to the end of the last: enough for the
    engine's verdict on those slots (an earlier slot, proven done, holds a fact of its own
    before any fact it shares with a later one, so it never takes one from it)."""
    spans: dict[Key, list[tuple[IntArr, IntArr]]] = {}
    for task, tim, u in zip(plan.tasks, plan.timing, unsure, strict=True):
        rows = u.any(axis=1)
        if not rows.any():
            continue
        a = w.anchors[task.anchor]
        first_slot = np.maximum(np.argmax(u, axis=1) - 1, 0)
        last_slot = tim.start.size - 1 - np.argmax(u[:, ::-1], axis=1)
        first = np.where(rows, a + tim.start[first_slot], MAX)
        last = np.where(rows, np.minimum(a + tim.end[last_slot], w.horizon), NAT)
        for key in task.completed_by.keys:
            spans.setdefault(key, []).append((first, last))
    keys = list(spans)
    pids, times, which = [], [], []
    for k, key in enumerate(keys):
        s = w.stream(key)
        keep = np.zeros(s.t.size, dtype=bool)
        for first, last in spans[key]:
            keep |= (s.t >= first[s.pid]) & (s.t <= last[s.pid])
        pids.append(s.pid[keep])
        times.append(s.t[keep])
        which.append(np.full(int(keep.sum()), k))
    out: dict[int, list[Fact]] = {}
    if not keys:
        return out
    pid = np.concatenate(pids)
    order = np.argsort(pid, kind="stable")
    pid, t, kidx = pid[order], np.concatenate(times)[order], np.concatenate(which)[order]
    stamps = _datetimes(t)
    for j in range(pid.size):
        kind, code = keys[kidx[j]]
        out.setdefault(int(pid[j]), []).append(Fact(kind, code, stamps[j]))
    return out


# --- completing the open slots ------------------------------------------------------------------


@dataclass
class _Requests:
    """Facts to make, per key, gathered before any value is drawn."""

    parts: dict[Key, tuple[list[IntArr], list[IntArr]]]

    def add(self, key: Key, pid: IntArr, t: IntArr) -> None:
        if pid.size:
            pids, times = self.parts.setdefault(key, ([], []))
            pids.append(pid)
            times.append(t)


def _complete(w: Context, plan: _Plan, rp: IntArr, rt: IntArr, rs: IntArr, floor: IntArr) -> int:
    """Time the open slots (patients `rp`, tasks `rt`, slots `rs`), draw adherence, and add
    the completing facts."""
    if not rp.size:
        return 0
    u_adh, u_late, u_pos = w.rng.uniform(size=(3, rp.size))
    out = _Requests({})
    completed = 0
    for ti in np.unique(rt):
        m = rt == ti
        task, tim = plan.tasks[int(ti)], plan.timing[int(ti)]
        pid, slot = rp[m], rs[m]
        a = w.anchors[task.anchor][pid]
        own = tim.x_lo[slot] <= tim.x_hi[slot]  # prefer the part no other slot shares
        lo = a + np.where(own, tim.x_lo[slot], tim.start[slot])
        hi = a + np.where(own, tim.x_hi[slot], tim.end[slot])
        hi_t = np.minimum(hi, w.horizon[pid])
        known = floor[pid, int(ti)]
        lo_t = np.where((known != NAT) & (known <= hi_t), np.maximum(lo, known), lo)
        p = w.p
        adherence = p.protocol_adherence_critical if task.critical else p.protocol_adherence
        ok = (lo_t <= hi_t) & (u_adh[m] < adherence)
        late = u_late[m] < p.protocol_late_share
        t = _slot_time(a + tim.offset[slot], lo_t, hi_t, late, u_pos[m])
        pid, t, lo, hi = pid[ok], t[ok], lo[ok], hi[ok]
        completed += int(ok.sum())
        if task.completed_by.require == "all":
            _all_keys(w, out, task.completed_by.keys, pid, t, lo, hi)
        else:
            for key in _any_choice(w, task):
                out.add(key, pid, t)
    _add(w, out)
    return completed


def _slot_time(due: IntArr, lo: IntArr, hi: IntArr, late: BoolArr, u: FloatArr) -> IntArr:
    """On time: in the first quarter after the nominal time (or well before a deadline that
    ends the window); late: in the last quarter of the window (or just before the deadline)."""
    d = np.clip(due, lo, hi)
    after = (hi - d).astype(float)
    before = (d - lo).astype(float)
    frac_after = np.where(late, 0.75 + 0.25 * u, 0.25 * u)
    frac_before = np.where(late, 0.05 * u, 0.05 + 0.45 * u)
    t = np.where(after > 0, d + frac_after * after, d - frac_before * before)
    out: IntArr = np.clip(np.round(t).astype(np.int64), lo, hi)
    return out


def _all_keys(
    w: Context, out: _Requests, keys: list[Key], pid: IntArr, t: IntArr, lo: IntArr, hi: IntArr
) -> None:
    """One fact per key the slot lacks, at the time of a key it has (the same draw) if any."""
    present = []
    at = np.full(pid.size, MAX, dtype=np.int64)
    for key in keys:
        s = w.stream(key)
        has = s.count(w.keyer, pid, lo, hi) > 0
        if has.any():
            first = np.clip(s.first_at_or_after(w.keyer, pid, lo), 0, s.t.size - 1)
            at = np.where(has, np.minimum(at, s.t[first]), at)
        present.append(has)
    t = np.where(at < MAX, at, t)
    for key, has in zip(keys, present, strict=True):
        out.add(key, pid[~has], t[~has])


def _any_choice(w: Context, task: Task) -> list[Key]:
    """For require = "any": the first event (the procedure) and the first observation that
    can be valued (its result); with neither, the first assessment the record can build."""
    cb = task.completed_by
    chosen: list[Key] = [("event", cb.events[0])] if cb.events else []
    valued = [c for c in cb.observations if can_value(w, c)]
    chosen += [("observation", valued[0])] if valued else []
    if not chosen:
        built = [a for a in cb.assessments if w.stream(("assessment", a)).pid.size]
        chosen = [("assessment", built[0])] if built else []
    return chosen


def _add(w: Context, out: _Requests) -> None:
    for (kind, code), (pids, times) in out.parts.items():
        pid, t = np.concatenate(pids), np.concatenate(times)
        order = np.lexsort((t, pid))
        pid, t = pid[order], t[order]
        if kind == "observation":
            values = observation_values(w, code, pid, t)
            ok = ~np.isnan(values)
            w.f.observe(pid[ok], code, values[ok], t[ok])
        elif kind == "assessment":
            add_assessments(w, code, pid, t)
        else:
            add_events(w, code, pid, t)


# --- schedules of simulated frames ---------------------------------------------------------------


def frame_schedules(
    frames: CohortFrames, *, now: datetime, protocol: Protocol | None = None
) -> dict[str, Schedule]:
    """Each patient's schedule from simulated frames, as `services.schedule` computes it from
    the store once they are loaded: facts up to `now` keyed as `facts_for_patient` keys them,
    anchors as `TreatmentCourse.anchor_times`, attributes as `patient_attributes`, the end of
    follow-up as `died_at` (the death event by `now`). For tests, benchmarks and reports on a
    cohort in memory."""
    anti_hbc, anti_cd20, fold = schedule_rules()
    chosen = protocol or load_shipped(str(frames.courses["protocol_id"].iloc[0]))
    groups = {
        name: dict(tuple(table.groupby("study_id", sort=False)))
        for name, table in frames.tables().items()
        if name != "patients"
    }
    stamp = pd.Timestamp(now)
    out: dict[str, Schedule] = {}
    for patient in frames.patients.to_dict("records"):
        sid = str(patient["study_id"])
        obs = groups["observations"].get(sid, frames.observations.iloc[:0])
        obs = obs[obs["effective_at"] <= stamp]
        ass = groups["assessments"].get(sid, frames.assessments.iloc[:0])
        ev = groups["events"].get(sid, frames.events.iloc[:0])
        ev = ev[ev["onset_at"] <= stamp]
        facts = [Fact("observation", str(c), t.to_pydatetime())
                 for c, t in zip(obs["code"], obs["effective_at"], strict=True)]  # fmt: skip
        facts += [Fact("assessment", str(c), t.to_pydatetime())
                  for c, t in zip(ass["instrument"], ass["effective_at"], strict=True)]  # fmt: skip
        punctured = False
        died: datetime | None = None
        for kind, drug, t in zip(ev["type"], ev["drug"], ev["onset_at"], strict=True):
            facts.append(Fact("event", str(kind), t.to_pydatetime()))
            if isinstance(drug, str) and drug:
                facts.append(Fact("event", f"{kind}:{fold(drug)}", t.to_pydatetime()))
            punctured |= kind == "lumbar_puncture"
            if kind == "death" and (died is None or t < died):
                died = t.to_pydatetime()
        hbc = obs[obs["code"] == anti_hbc].sort_values("effective_at")["value"]
        therapies = [fold(str(x)) for x in patient["prior_therapies"]]
        attrs = {
            "diagnosis": patient["diagnosis"],
            "subtype": patient["subtype"],
            "sex": patient["sex"],
            "birth_year": patient["birth_year"],
            "prior_therapies": therapies,
            "prior_anti_cd20": any(x in anti_cd20 for x in therapies),
            "anti_hbc_positive": bool(hbc.iloc[-1] >= 1) if len(hbc) else None,
            "cns_compartment_studied": punctured or bool((obs["specimen"] == "csf").any()),
        }
        course = frames.courses[frames.courses["study_id"] == sid].iloc[0]
        anchors = {
            name: _day(course[f"{name}_at"]) for name in ("enrolment", "apheresis", "ld_start")
        }
        infusion = course["infusion_at"]
        anchors["infusion"] = None if pd.isna(infusion) else infusion.to_pydatetime()
        out[sid] = compute_schedule(
            chosen,
            anchors,
            facts,
            now=now,
            patient=attrs,
            ended_at=died,
            end_reason=PATIENT_DIED if died else None,
        )
    return out


def _day(value: Any) -> datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).normalize().to_pydatetime()
