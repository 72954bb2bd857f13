"""The shift handover: what the next team must know, on one page.

    GET /handover?hours=8

Open alerts (unacknowledged and escalated first, with their age and tier), the overdue tasks
of the acute patients, and every patient whose record changed in the last `hours` (new or
corrected measurements, assessments, events) — read from the same board and alert views the
ward board uses, so handover and board never disagree. A view is one read-log entry naming
the patients on the page (docs/audit.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from neurocart.services.reads import log_read, shown_scope
from neurocart.store.models import Assessment, ClinicalEvent, Observation, Patient, User
from neurocart.web.auth import database_of, require
from neurocart.web.pages import board_rows
from neurocart.web.templating import render

router = APIRouter(include_in_schema=False)

PatientsReader = Annotated[User, Depends(require("patients", "read"))]


@router.get("/handover", response_class=HTMLResponse)
def handover(request: Request, user: PatientsReader, hours: float = 8.0) -> HTMLResponse:
    """The handover page: open alerts, overdue tasks and what was recorded in the last hours."""
    hours = min(max(hours, 0.5), 72.0)
    rows, now = board_rows(request)
    since = now - timedelta(hours=hours)
    alerts = sorted(
        (a for r in rows for a in r.alerts),
        key=lambda a: (a.acknowledged_at is not None, -a.tier, -a.rank, a.opened_at),
    )
    overdue = [(r.study_id, t) for r in rows for t in r.tasks if t.state == "overdue"]
    changed: dict[str, int] = {}
    with database_of(request).reading() as session:
        for model in (Observation, Assessment, ClinicalEvent):
            query = (
                select(Patient.study_id, func.count(model.id))
                .join(Patient, Patient.id == model.patient_id)
                .where(model.recorded_at >= since)
                .group_by(Patient.study_id)
            )
            for sid, n in session.execute(query):
                changed[sid] = changed.get(sid, 0) + int(n)
    shown = [a.study_id for a in alerts] + [sid for sid, _ in overdue] + list(changed)
    scope = shown_scope(shown, hours=hours, alerts=len(alerts), overdue=len(overdue),
                        changed=len(changed))  # fmt: skip
    log_read(database_of(request), user, "handover", scope=scope)
    return render(
        request, "handover.html", active="handover", alerts=alerts, overdue=overdue,
        changed=sorted(changed.items()), hours=hours, since=since, now=now, rows=rows,
    )  # fmt: skip
