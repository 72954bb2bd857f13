"""A small patient builder for monitoring tests: facts at hours after infusion; and the
stored patients the leader's tests start from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from neurocart import store
from neurocart.monitor import (
    AlertAction,
    Assessment,
    Engine,
    Event,
    Observation,
    PatientContext,
)

DAY0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
H = timedelta(hours=1)

TEMP, SBP, ANC, PLT, IGG = "8310-5", "8480-6", "751-8", "777-3", "2465-3"


def stored_world(db: store.Database, n: int = 1) -> tuple[store.User, list[store.Patient]]:
    """A neurologist and `n` patients NC-1… with a course infused at DAY0, committed."""
    repo = store.repo
    with db.transaction() as s:
        user = repo.create_user(s, None, username="doc", password_hash="x", role="neurologist")
        patients = []
        for i in range(n):
            p = repo.create_patient(s, None, repo.PatientIn(f"NC-{i + 1}", "HD", "female", "nmosd"))
            repo.create_course(s, None, repo.CourseIn(p.id, "x", infusion_at=DAY0))
            patients.append(p)
    return user, patients


def at(hours: float) -> datetime:
    return DAY0 + hours * H


class Patient:
    """One patient fed into an engine; each method returns the actions the fact caused."""

    def __init__(self, engine: Engine, study_id: str = "NC-0001", **context: Any) -> None:
        self.engine = engine
        self.study_id = study_id
        context.setdefault("infusion_at", DAY0)
        self.actions: list[AlertAction] = list(
            engine.set_context(PatientContext(study_id, **context))
        )

    def _keep(self, actions: list[AlertAction]) -> list[AlertAction]:
        self.actions.extend(actions)
        return actions

    def obs(self, code: str, value: float, hours: float) -> list[AlertAction]:
        return self._keep(self.engine.ingest(Observation(self.study_id, code, value, at(hours))))

    def ice(self, score: int, hours: float) -> list[AlertAction]:
        return self._keep(
            self.engine.ingest(Assessment(self.study_id, "ice", at(hours), value=score))
        )

    def assess(self, instrument: str, hours: float, **inputs: Any) -> list[AlertAction]:
        return self._keep(
            self.engine.ingest(Assessment(self.study_id, instrument, at(hours), inputs=inputs))
        )

    def event(self, type_: str, hours: float, **kw: Any) -> list[AlertAction]:
        end = kw.pop("end_hours", None)
        return self._keep(
            self.engine.ingest(
                Event(
                    self.study_id,
                    type_,
                    at(hours),
                    end_at=None if end is None else at(end),
                    **kw,
                )
            )
        )

    @property
    def signals(self) -> dict[str, Any]:
        return self.engine.state(self.study_id).signals

    def fired(self, rule_id: str) -> bool:
        """Did `rule_id` contribute to any alert of this patient (open or closed)?"""
        return any(
            rule_id in alert.rules for alert in self.engine.alerts(self.study_id, open_only=False)
        )

    def kinds(self, episode: str) -> list[str]:
        return [a.kind for a in self.actions if a.episode == episode]
