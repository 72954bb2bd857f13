"""Alerts as episodes, and the actions the engine emits about them.

One episode per (patient, episode key) at a time: while it is open, the rules that share its
key update it instead of opening new alerts (no storm of duplicates while a fever lasts).
Actions:

- ``open``      a new episode — notify its disciplines;
- ``upgrade``   severity or grade rose — notify again, the acknowledgement is cleared;
- ``update``    a worse triggering value (e.g. a new peak temperature) — no notification;
- ``close``     the episode resolved (every contributing rule's resolve condition held for
  its time);
- ``escalate``  not acknowledged in time — notify the next tier;
- ``acknowledge`` a user acknowledged — stops escalation (recorded by the caller too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ActionKind = Literal["open", "upgrade", "update", "close", "escalate", "acknowledge"]
NOTIFYING: frozenset[str] = frozenset({"open", "upgrade", "escalate"})


@dataclass(frozen=True)
class AlertAction:
    """One thing that happened to an alert; `notify` says whether to page `disciplines`."""

    kind: ActionKind
    alert_key: str
    study_id: str
    episode: str
    rule_id: str
    at: datetime
    study_day: int | None
    severity: str
    grade: float | None
    title: str
    text: str
    recommended: str
    source: str
    values: tuple[tuple[str, Any], ...]
    disciplines: tuple[str, ...]
    level: int = 0
    user: str | None = None
    reasons: tuple[str, ...] = ()

    @property
    def notify(self) -> bool:
        return self.kind in NOTIFYING

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO 8601) for persistence and the SSE stream."""
        return {
            "kind": self.kind,
            "alert_key": self.alert_key,
            "study_id": self.study_id,
            "episode": self.episode,
            "rule_id": self.rule_id,
            "at": self.at.isoformat(),
            "study_day": self.study_day,
            "severity": self.severity,
            "grade": self.grade,
            "title": self.title,
            "text": self.text,
            "recommended": self.recommended,
            "source": self.source,
            "values": dict(self.values),
            "disciplines": list(self.disciplines),
            "level": self.level,
            "user": self.user,
            "notify": self.notify,
            "reasons": list(self.reasons),
        }


@dataclass
class Contribution:
    """What one rule has put into an episode."""

    peak: float | None = None
    resolving_since: datetime | None = None


@dataclass
class Episode:
    """The engine's record of one alert (mutable; read it through `Alert`)."""

    key: str
    study_id: str
    episode: str
    opened_at: datetime
    severity: str
    grade: float | None
    disciplines: tuple[str, ...]
    rule_id: str
    title: str
    text: str
    recommended: str
    source: str
    values: tuple[tuple[str, Any], ...]
    updated_at: datetime
    closed_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    level: int = 0
    escalation_base: datetime | None = None
    contributions: dict[str, Contribution] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def snapshot(self) -> Alert:
        return Alert(
            key=self.key,
            study_id=self.study_id,
            episode=self.episode,
            status="open" if self.is_open else "closed",
            severity=self.severity,
            grade=self.grade,
            disciplines=self.disciplines,
            rule_id=self.rule_id,
            title=self.title,
            text=self.text,
            recommended=self.recommended,
            source=self.source,
            values=self.values,
            opened_at=self.opened_at,
            updated_at=self.updated_at,
            closed_at=self.closed_at,
            acknowledged_by=self.acknowledged_by,
            acknowledged_at=self.acknowledged_at,
            level=self.level,
            rules=tuple(self.contributions),
        )


@dataclass(frozen=True)
class Alert:
    """An alert as it stands now (a read-only copy of an episode)."""

    key: str
    study_id: str
    episode: str
    status: Literal["open", "closed"]
    severity: str
    grade: float | None
    disciplines: tuple[str, ...]
    rule_id: str
    title: str
    text: str
    recommended: str
    source: str
    values: tuple[tuple[str, Any], ...]
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    level: int
    rules: tuple[str, ...]


def grade_text(label: str, grade: float | None) -> str:
    """' — CRS grade (ASTCT) 2' (empty without a grade)."""
    if grade is None:
        return ""
    shown = str(int(grade)) if float(grade).is_integer() else f"{grade:g}"
    return f" — {label} {shown}"


def alert_text(
    study_id: str,
    study_day: int | None,
    title: str,
    graded: str,
    values: list[str],
    recommended: str,
    source: str,
) -> str:
    """What happened, the values that triggered it, the recommended step and its source."""
    day = f"day {study_day}" if study_day is not None else "study day unknown"
    shown = "; ".join(values)
    return (
        f"{study_id} · {day}: {title}{graded}. {shown}. Recommended: {recommended} Source: {source}"
    )
