"""A patient's protocol schedule (computed by the pathway engine) and manual task marks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query

from neurocart.api.deps import NowDep, ReadLog, ReadSession, WriteSession, require
from neurocart.api.routing import api_router
from neurocart.api.schemas import Instant, ProtocolId, ScheduleOut, SlotOut, TaskIn, TaskOut
from neurocart.api.views import StudyIdPath, out, patient_of
from neurocart.pathway import Fact, Slot, SlotState, totals
from neurocart.security import Action, Resource
from neurocart.services.schedule import check_task_slot, patient_schedule
from neurocart.store import User, repo

router = api_router(prefix="/api/v1/patients/{study_id}", tags=["schedule"])

ScheduleReader = Annotated[User, Depends(require(Resource.SCHEDULE, Action.READ))]
TaskReader = Annotated[User, Depends(require(Resource.TASKS, Action.READ))]
TaskWriter = Annotated[User, Depends(require(Resource.TASKS, Action.WRITE))]


def _fact(fact: Fact) -> str:
    return f"{fact.kind}:{fact.ref if fact.ref is not None else fact.code}"


def _slot(slot: Slot) -> SlotOut:
    return SlotOut(
        task_id=slot.task_id,
        title=slot.title,
        phase=slot.phase,
        discipline=slot.discipline,
        critical=slot.critical,
        index=slot.index,
        study_day=slot.study_day,
        due_at=slot.due_at,
        window_start=slot.window_start,
        window_end=slot.window_end,
        state=slot.state.value,
        reason=slot.reason,
        done_at=slot.done_at,
        done_by=[_fact(f) for f in slot.done_by],
    )


@router.get("/schedule")
def get_schedule(
    study_id: StudyIdPath,
    user: ScheduleReader,
    session: ReadSession,
    reads: ReadLog,
    state: Annotated[
        list[SlotState] | None, Query(description="only slots in these states")
    ] = None,
    phase: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    now: Annotated[
        Instant | None, Query(description="compute as of this time (default: now)")
    ] = None,
    protocol_id: Annotated[ProtocolId | None, Query()] = None,
) -> ScheduleOut:
    """Every slot of the patient's protocol with its state; `counts` are over the whole plan."""
    patient = patient_of(session, study_id)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    schedule = patient_schedule(session, patient.id, now=at, protocol_id=protocol_id)
    wanted = set(state or SlotState)
    slots = [
        _slot(s)
        for s in schedule.slots
        if s.state in wanted and (phase is None or s.phase == phase)
    ]
    reads(user, "schedule", patient_id=patient.id, scope={"phase": phase, "state": state})
    return ScheduleOut(
        study_id=patient.study_id,
        protocol_id=schedule.protocol.id,
        now=schedule.now,
        anchors=dict(schedule.anchors),
        counts={k.value: v for k, v in totals(schedule).items()},
        slots=slots,
    )


@router.get("/tasks")
def list_tasks(
    study_id: StudyIdPath,
    user: TaskReader,
    session: ReadSession,
    reads: ReadLog,
    protocol_id: Annotated[ProtocolId | None, Query()] = None,
) -> list[TaskOut]:
    """The manual marks recorded on the patient's task slots."""
    patient = patient_of(session, study_id)
    rows = repo.list_tasks(session, patient.id, protocol_id=protocol_id)
    reads(user, "tasks", patient_id=patient.id, scope={"protocol_id": protocol_id})
    return [out(TaskOut, t, study_id=patient.study_id) for t in rows]


@router.put("/tasks")
def mark_task(
    study_id: StudyIdPath, body: TaskIn, user: TaskWriter, session: WriteSession, now: NowDep
) -> TaskOut:
    """Mark one slot done, skipped or not applicable (created or updated; audited); the slot
    must be one of the patient's schedule (`task_id` and `slot_start` as the schedule gives)."""
    patient = patient_of(session, study_id)
    check_task_slot(
        session,
        patient.id,
        protocol_id=body.protocol_id,
        task_id=body.task_id,
        slot_start=body.slot_start,
        now=now,
    )
    task = repo.set_task(
        session,
        user,
        patient.id,
        protocol_id=body.protocol_id,
        task_id=body.task_id,
        slot_start=body.slot_start,
        state=body.state,
        completed_by=f"user:{user.id}",
        note=body.note,
    )
    return out(TaskOut, task, study_id=patient.study_id)
