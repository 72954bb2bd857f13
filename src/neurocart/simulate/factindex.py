"""Simulated facts indexed by the keys the pathway engine matches, for vectorized look-ups.

A `Stream` holds the facts of one key — ``("observation", "8310-5")``, ``("assessment",
"ice")``, ``("event", "drug_given:acyclovir")`` as `services.schedule.facts_for_patient`
keys stored rows — sorted by patient, then time, so that "how many facts of patient p lie in
[lo, hi]" and "which is nearest to t" are numpy searches over the whole cohort at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.simulate.facts import Facts, IntArr

Key = tuple[str, str]
"""(kind, code) as the engine matches facts."""
MAX = np.iinfo(np.int64).max


@cache
def schedule_rules() -> tuple[str, frozenset[str], Callable[[str], str]]:
    """services.schedule's rules for facts and attributes (imported late: it loads the store)."""
    from neurocart.services.schedule import ANTI_CD20, ANTI_HBC, fold_name

    return ANTI_HBC, ANTI_CD20, fold_name


class Keyer:
    """Maps (patient, time) to one int64 that sorts by patient, then time, for searchsorted.

    Times are clipped per patient to [base − 1 µs, horizon] for queries and to [base − 1 µs,
    horizon + 1 µs] for facts: `base` precedes every window the protocol can open, so counts
    stay exact, and facts after the horizon (cut from the frames) are never counted but still
    found by `nearest` (a visit the clinical model put just past the horizon).
    """

    def __init__(self, base: IntArr, horizon: IntArr) -> None:
        self.base = base
        self.span = horizon - base
        self.stride = int(self.span.max()) + 3
        if self.stride * (base.size + 1) >= 2**62:
            raise ValueError(
                f"n_patients: at most {2**62 // self.stride - 1} patients per simulation "
                f"follow the protocol, got {base.size}"
            )

    def __call__(self, pid: IntArr, t: IntArr, *, fact: bool = False) -> IntArr:
        rel = np.clip(t - self.base[pid], -1, self.span[pid] + int(fact))
        out: IntArr = pid * self.stride + rel + 1
        return out


@dataclass(frozen=True)
class Stream:
    """The facts of one key, sorted by patient then time; `src` indexes `payload`."""

    key: IntArr
    pid: IntArr
    t: IntArr
    payload: npt.NDArray[Any]  # observation values, assessment inputs, or nothing (events)

    def count(self, keyer: Keyer, pid: IntArr, lo: IntArr, hi: IntArr) -> IntArr:
        """Facts of each patient `pid` with lo ≤ time ≤ hi (inclusive)."""
        a = np.searchsorted(self.key, keyer(pid, lo - 1), side="right")
        b = np.searchsorted(self.key, keyer(pid, hi), side="right")
        out: IntArr = b - a
        return out

    def first_of(self, pid: IntArr) -> IntArr:
        """Index of each patient's earliest fact; −1 when the patient has none."""
        idx = np.searchsorted(self.pid, pid, side="left")
        found = (
            (idx < self.pid.size) & (self.pid[np.clip(idx, 0, max(self.pid.size - 1, 0))] == pid)
            if self.pid.size
            else np.zeros(pid.size, bool)
        )
        out: IntArr = np.where(found, idx, -1)
        return out

    def first_at_or_after(self, keyer: Keyer, pid: IntArr, lo: IntArr) -> IntArr:
        """Index of each patient's first fact at or after `lo` (may belong to another patient)."""
        out: IntArr = np.searchsorted(self.key, keyer(pid, lo - 1), side="right")
        return out

    def nearest(self, pid: IntArr, t: IntArr, split: IntArr | None = None) -> IntArr:
        """Index of the patient's fact nearest in time to t (−1 when the patient has none);
        with `split` (an instant per row), facts on t's side of it come first."""
        n = self.pid.size
        if not n:
            return np.full(pid.size, -1, dtype=np.int64)
        first = np.searchsorted(self.pid, pid, side="left")
        end = np.searchsorted(self.pid, pid, side="right")
        right = first + _segment_search(self.t, first, end, t)
        prev = right - 1
        has_prev = prev >= first
        has_next = right < end
        t_prev = self.t[np.clip(prev, 0, n - 1)]
        t_next = self.t[np.clip(right, 0, n - 1)]
        gap_prev = np.where(has_prev, t - t_prev, MAX).astype(float)
        gap_next = np.where(has_next, t_next - t, MAX).astype(float)
        if split is not None:  # the other side of `split` only when nothing is on this side
            before = t < split
            gap_prev += np.where(has_prev & (before != (t_prev < split)), 1e30, 0.0)
            gap_next += np.where(has_next & (before != (t_next < split)), 1e30, 0.0)
        take_prev = has_prev & (gap_prev <= gap_next)
        out: IntArr = np.where(take_prev, prev, np.where(has_next, right, -1))
        return out


def _segment_search(t: IntArr, first: IntArr, end: IntArr, x: IntArr) -> IntArr:
    """Per row, how many of t[first:end] (ascending) are ≤ x: a vectorized bisection."""
    lo = np.zeros_like(first)
    hi = end - first
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        probe = t[np.clip(first + mid, 0, max(t.size - 1, 0))]
        go_right = active & (probe <= x)
        lo = np.where(go_right, mid + 1, lo)
        hi = np.where(active & ~go_right, mid, hi)


_NONE = np.zeros(0, dtype=np.int64)
EMPTY = Stream(_NONE, _NONE, _NONE, np.zeros(0, dtype=object))


def index_facts(f: Facts, keys: Iterable[Key], keyer: Keyer) -> dict[Key, Stream]:
    """Streams of the wanted keys from the facts (also those after a patient's horizon, which
    `count` never counts: see `Keyer`)."""
    wanted = set(keys)
    parts: dict[Key, list[tuple[IntArr, IntArr, npt.NDArray[Any]]]] = {k: [] for k in wanted}
    for pid, code, value, t in f.obs:
        if ("observation", code) in wanted:
            parts["observation", code].append((pid, t, value))
    for pid, name, inputs, _, _, t in f.assessments:
        if ("assessment", name) in wanted:
            payload = np.empty(pid.size, dtype=object)
            payload[:] = inputs
            parts["assessment", name].append((pid, t, payload))
    fold = schedule_rules()[2]
    for chunk in f.events:
        pid, onset = chunk["pid"], chunk["onset"]
        if ("event", chunk["type"]) in wanted:
            parts["event", chunk["type"]].append((pid, onset, np.zeros(pid.size, dtype=object)))
        drugs = chunk["drug"]
        for drug in {d for d in drugs if isinstance(d, str)}:
            key = ("event", f"{chunk['type']}:{fold(drug)}")
            if key in wanted:
                rows = drugs == drug
                parts[key].append((pid[rows], onset[rows], np.zeros(int(rows.sum()), object)))
    out: dict[Key, Stream] = {}
    for key, chunks in parts.items():
        if not chunks:
            out[key] = EMPTY
            continue
        pid = np.concatenate([c[0] for c in chunks])
        t = np.concatenate([c[1] for c in chunks])
        payload = np.concatenate([c[2] for c in chunks])
        order = np.lexsort((t, pid))
        pid, t = pid[order], t[order]
        out[key] = Stream(keyer(pid, t, fact=True), pid, t, payload[order])
    return out
