"""Tasks of the care pathway: a slot's state (done, skipped ...) set in place, audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.store import audit
from neurocart.store.models import (
    Task,
    User,
)
from neurocart.store.repo._common import (
    _actor_id,
    _aware,
    _created,
    _require_patients,
    _updated,
)
from neurocart.store.types import utcnow


def set_task(
    session: Session,
    actor: User | None,
    patient_id: int,
    *,
    protocol_id: str,
    task_id: str,
    slot_start: datetime,
    state: str,
    completed_by: str | None = None,
    note: str | None = None,
) -> Task:
    """Record the state of one scheduled task slot (created on first use, updated after)."""
    _aware("slot_start", slot_start)
    audit.lock_chain(session)
    _require_patients(session, [patient_id], "patient_id")
    task = session.scalar(
        select(Task)
        .where(
            Task.patient_id == patient_id,
            Task.protocol_id == protocol_id,
            Task.task_id == task_id,
            Task.slot_start == slot_start,
        )
        .execution_options(populate_existing=True)
    )
    values = {"state": state, "completed_by": completed_by, "note": note}
    stamp = {"updated_at": utcnow(), "updated_by": _actor_id(actor)}
    if task is None:
        task = Task(
            patient_id=patient_id,
            protocol_id=protocol_id,
            task_id=task_id,
            slot_start=slot_start,
            **values,
            **stamp,
        )
        return _created(session, actor, task)
    current = {k: getattr(task, k) for k in values}
    return task if current == values else _updated(session, actor, task, values | stamp)


def list_tasks(session: Session, patient_id: int, *, protocol_id: str | None = None) -> list[Task]:
    """The manual marks on a patient's schedule slots (done, skipped, not applicable), by slot."""
    query = select(Task).where(Task.patient_id == patient_id)
    if protocol_id is not None:
        query = query.where(Task.protocol_id == protocol_id)
    return list(session.scalars(query.order_by(Task.slot_start, Task.task_id)))
