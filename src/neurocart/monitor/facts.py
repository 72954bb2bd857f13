"""What the engine is fed: clinical facts, per-patient context, acknowledgements and ticks.

Plain frozen dataclasses, no I/O. Values arrive in canonical SI units with the codes of
`neurocart.frames` (ingest converted them once). The engine never reads a clock: every fact carries
its own time, and `Tick` / `Ack` carry theirs, so feeding the same stream twice gives the
same actions (replay).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name}: datetime must be timezone-aware (UTC), got naive {value}")


@dataclass(frozen=True, slots=True)
class Observation:
    """A measured value: vital sign or laboratory result (`code` LOINC or local)."""

    study_id: str
    code: str
    value: float
    effective_at: datetime
    unit: str = ""
    specimen: str = "blood"
    id: str | int | None = None

    def __post_init__(self) -> None:
        _aware("effective_at", self.effective_at)

    @property
    def time(self) -> datetime:
        return self.effective_at


@dataclass(frozen=True, slots=True)
class Assessment:
    """A scored instrument (`instrument` is a calculator name: ice, icans, crs, iec_hs, ...)."""

    study_id: str
    instrument: str
    effective_at: datetime
    value: float | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None
    id: str | int | None = None
    by: str | None = None
    """Who recorded it (username): shown beside a clinician's recorded grade."""

    def __post_init__(self) -> None:
        _aware("effective_at", self.effective_at)

    @property
    def time(self) -> datetime:
        return self.effective_at


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened (`neurocart.frames` types: drug_given, oxygen_support, seizure...).

    An event recorded again with the same `id` supersedes the earlier version (e.g. the same
    oxygen support, now with its `end_at`): the store is append-only, the engine keeps the
    latest version.
    """

    study_id: str
    type: str
    onset_at: datetime
    end_at: datetime | None = None
    grade: int | None = None
    term: str | None = None
    drug: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    id: str | int | None = None

    def __post_init__(self) -> None:
        _aware("onset_at", self.onset_at)
        _aware("end_at", self.end_at)

    @property
    def time(self) -> datetime:
        return self.onset_at

    def active_at(self, t: datetime) -> bool:
        """Started at or before `t` and not ended by then."""
        return self.onset_at <= t and (self.end_at is None or self.end_at > t)


Fact = Observation | Assessment | Event


@dataclass(frozen=True)
class PatientContext:
    """Per-patient facts that are not time series: anchors and pre-treatment baselines.

    `baseline_labs` maps an observation code to its value before lymphodepletion (EASIX,
    m-EASIX and CAR-HEMATOTOX at baseline); `baseline_ice` is the pre-infusion ICE score
    (the patient's own baseline) used for baseline-aware ICANS grading.
    """

    study_id: str
    infusion_at: datetime | None = None
    ld_start_at: datetime | None = None
    diagnosis: str | None = None
    baseline_ice: int | None = None
    baseline_labs: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _aware("infusion_at", self.infusion_at)
        _aware("ld_start_at", self.ld_start_at)
        if self.baseline_ice is not None and not 0 <= self.baseline_ice <= 10:
            raise ValueError(f"baseline_ice: must be 0–10, got {self.baseline_ice}")


@dataclass(frozen=True)
class OverdueTask:
    """A critical protocol task whose window closed undone (from `pathway.overdue_critical`)."""

    task_id: str
    title: str
    discipline: str
    index: int = 0
    window_end: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.task_id}#{self.index}"

    @classmethod
    def from_slot(cls, slot: Any) -> OverdueTask:
        """Accept a `neurocart.pathway.Slot` (duck-typed: no import of the pathway here)."""
        if isinstance(slot, OverdueTask):
            return slot
        return cls(
            task_id=str(slot.task_id),
            title=str(slot.title),
            discipline=str(slot.discipline),
            index=int(slot.index),
            window_end=slot.window_end,
        )


@dataclass(frozen=True)
class Ack:
    """A user acknowledged an alert at `at` (recorded and audited by the caller)."""

    alert_key: str
    user: str
    at: datetime

    def __post_init__(self) -> None:
        _aware("at", self.at)


@dataclass(frozen=True)
class Resolve:
    """A treating clinician closed an alert at `at` with a reason (recorded and audited by the
    caller). The episode ends; a condition that still holds opens a new alert on its next fact,
    so resolving never silences what the monitor still sees."""

    alert_key: str
    user: str
    at: datetime
    reason: str

    def __post_init__(self) -> None:
        _aware("at", self.at)


@dataclass(frozen=True)
class Tick:
    """Time passed to `at` with nothing recorded; optionally the overdue critical tasks then."""

    at: datetime
    overdue: Mapping[str, Sequence[OverdueTask]] | None = None

    def __post_init__(self) -> None:
        _aware("at", self.at)


HistoryItem = Observation | Assessment | Event | PatientContext | Ack | Resolve | Tick

_KIND_RANK = {Observation: 0, Assessment: 1, Event: 2}


def chronological(facts: Iterable[Fact]) -> list[Fact]:
    """Facts in time order; ties by study ID, kind, then the given order (stable)."""
    return sorted(facts, key=lambda f: (f.time, f.study_id, _KIND_RANK[type(f)]))
