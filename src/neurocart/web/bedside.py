"""Bedside entry: vitals, labs, drugs and supportive care, clinical events, task completion
and corrections — through the same services as the API.

    GET  /patients/{id}/record/{form}          the form (last values shown beside each field)
    POST /patients/{id}/record/{form}/check    the live check as the user types (htmx)
    POST /patients/{id}/record/{form}          save: the same check, then store
    POST /patients/{id}/tasks/done             complete a scheduled task from the chart
    GET/POST /patients/{id}/correct/observation/{row}   correct a value, with a reason

Measurements go through `neurocart.services.ingest` (unit conversion and plausibility,
audited) and events through the repository's `add_event`; the monitor reads what committed
from the journal, exactly as for the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from neurocart.i18n import error_text, joined, local_input, term
from neurocart.i18n import gettext as _
from neurocart.ingest.codes import by_key
from neurocart.security import is_allowed
from neurocart.services.accounts import record_signature
from neurocart.services.errors import BatchValidationError, InvalidInputError
from neurocart.services.ingest import ingest_observation_batch
from neurocart.standards import REGISTRY
from neurocart.store import NotFoundError, StoreError, repo
from neurocart.store.models import EventType, Observation, Patient, User
from neurocart.store.repo import EventIn
from neurocart.web.auth import (
    PageForbidden,
    ReadSession,
    auth_now,
    check_origin,
    database_of,
    require,
    signed_correction,
)
from neurocart.web.entry import FORMS, EntryForm, check
from neurocart.web.numbers import read_number
from neurocart.web.pages import FormPairs, now_of
from neurocart.web.templating import not_found, render

router = APIRouter(include_in_schema=False)

PatientsReader = Annotated[User, Depends(require("patients", "read"))]
TaskWriter = Annotated[User, Depends(require("tasks", "write"))]
ObservationCorrector = Annotated[User, Depends(require("observations", "correct"))]

TASK_EVENTS_EXCLUDED = frozenset(
    {"drug_given", "crs", "icans", "death", "relapse", "infection", "adverse_event", "seizure"}
)
"""Events a task button never records: clinical findings and drugs need their own form."""


def _form(request: Request, key: str) -> EntryForm | HTMLResponse:
    form = FORMS.get(key)
    if form is None:
        return render(
            request,
            "error.html",
            404,
            title=_("Not found"),
            message=_("No form {key!r}.").format(key=key),
        )
    return form


def _allowed(user: User, form: EntryForm) -> None:
    if not is_allowed(user.role.value, form.resource, "write"):
        raise PageForbidden(user, _("record {form}").format(form=_(form.title).lower()))


def _patient(session: Session, study_id: str) -> Patient | None:
    try:
        return repo.find_patient(session, study_id)
    except NotFoundError:
        return None


def last_values(session: Session, patient_id: int, form: EntryForm) -> dict[str, Observation]:
    """The latest current observation of each measured field (shown as “last: ...”)."""
    codes = {by_key(f.code).code: f.name for f in form.fields if f.code}
    out: dict[str, Observation] = {}
    for obs in repo.list_observations(session, patient_id):
        name = codes.get(obs.code)
        if name is not None and (name not in out or obs.effective_at >= out[name].effective_at):
            out[name] = obs
    return out


def forms_for(user: User) -> list[EntryForm]:
    """The entry forms the user's role may save."""
    return [f for f in FORMS.values() if is_allowed(user.role.value, f.resource, "write")]


@router.get("/patients/{study_id}/record/{key}", response_class=HTMLResponse)
def record_form(
    request: Request, study_id: str, key: str, user: PatientsReader, session: ReadSession
) -> HTMLResponse:
    """Show a bedside entry form for a patient."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    _allowed(user, form)
    patient = _patient(session, study_id)
    if patient is None:
        return not_found(request, _("No such patient."))
    return _page(request, session, patient, form, {}, None)


def _page(
    request: Request,
    session: Session,
    patient: Patient,
    form: EntryForm,
    posted: dict[str, str],
    checked: Any,
    status: int = 200,
) -> HTMLResponse:
    now = now_of(request)
    return render(
        request,
        "record.html",
        status,
        patient=patient,
        form=form,
        values=posted,
        checked=checked,
        errors=checked.errors if checked else {},
        notes=checked.notes if checked else {},
        last=last_values(session, patient.id, form),
        now=now,
        at=posted.get("at") or local_input(now),
    )


@router.post("/patients/{study_id}/record/{key}/check", response_class=HTMLResponse)
def record_check(
    request: Request, study_id: str, key: str, user: PatientsReader, pairs: FormPairs
) -> HTMLResponse:
    """The save's own check on what is typed so far (fields left blank are not errors yet)."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    check_origin(request)
    posted = dict(pairs)
    checked = check(form, posted, now_of(request))
    touched = {k for k, v in posted.items() if v.strip()}
    required = _("required")  # the message as `check` said it, in the reader's language
    errors = {
        k: v
        for k, v in checked.errors.items()
        if k.removesuffix("__unit") in touched or (v != required and k != "(form)")
    }
    return render(
        request,
        "_entry_check.html",
        form=form,
        checked=checked,
        errors=errors,
        notes=checked.notes,
        can_save=is_allowed(user.role.value, form.resource, "write"),
    )


@router.post("/patients/{study_id}/record/{key}")
def record_save(
    request: Request, study_id: str, key: str, user: PatientsReader, pairs: FormPairs
) -> Response:
    """Check and save a bedside entry form; on errors, show it again with them marked."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    _allowed(user, form)
    check_origin(request)
    posted = dict(pairs)
    checked = check(form, posted, now_of(request))
    database = database_of(request)
    if checked.ok:
        try:
            with database.transaction() as session:
                patient = repo.find_patient(session, study_id)
                if checked.observations:
                    ingest_observation_batch(session, user, patient.id, checked.observations)
                for e in checked.events:
                    repo.add_event(session, user, EventIn(patient.id, **e))
        except NotFoundError:
            return not_found(request, _("No such patient."))
        except (BatchValidationError, InvalidInputError, StoreError) as exc:
            checked.errors["(form)"] = error_text(exc)
        else:
            what = _("{field}: {text}").format(
                field=_(form.title), text=joined(checked.summary, "; ")
            )
            return RedirectResponse(
                f"/patients/{study_id}?recorded={_quote(what)}#recent", status_code=303
            )
    with database.reading() as session:
        found = _patient(session, study_id)
        if found is None:
            return not_found(request, _("No such patient."))
        return _page(request, session, found, form, posted, checked, 422)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:300], safe="")


# --- tasks ------------------------------------------------------------------------------------


@router.post("/patients/{study_id}/tasks/done")
def task_done(request: Request, study_id: str, user: TaskWriter, pairs: FormPairs) -> Response:
    """Complete a scheduled task: record the procedure or documentation event that completes
    it (so the pathway engine sees it done) and the task slot's state, audited."""
    posted = dict(pairs)
    task_id, event = posted.get("task_id", ""), posted.get("event", "")
    try:
        slot_start = datetime.fromisoformat(posted.get("slot_start", ""))
        kind = EventType(event)
    except ValueError:
        return _task_refused(request, study_id, _("task: unknown slot or completing event"))
    if kind.value in TASK_EVENTS_EXCLUDED:
        return _task_refused(
            request,
            study_id,
            _("task: record a {event} with its own form").format(
                event=term(kind.value.replace("_", " "))
            ),
        )
    now = now_of(request)
    try:
        with database_of(request).transaction() as session:
            patient = repo.find_patient(session, study_id)
            row = repo.add_event(
                session, user, EventIn(patient.id, kind, now, details={"task": task_id})
            )
            repo.set_task(
                session, user, patient.id, protocol_id=posted.get("protocol_id") or "default",
                task_id=task_id, slot_start=slot_start, state="done",
                completed_by=f"event:{row.id}", note=posted.get("note") or None,
            )  # fmt: skip
    except NotFoundError:
        return not_found(request, _("No such patient."))
    except StoreError as exc:
        return _task_refused(request, study_id, error_text(exc))
    return RedirectResponse(f"/patients/{study_id}?task_done={_quote(task_id)}#pathway", 303)


def _task_refused(request: Request, study_id: str, message: str) -> HTMLResponse:
    return render(request, "error.html", 422, title=_("Task not completed"), message=message)


# --- corrections ------------------------------------------------------------------------------


@router.get("/patients/{study_id}/correct/observation/{row_id}", response_class=HTMLResponse)
def correct_form(
    request: Request, study_id: str, row_id: int, user: ObservationCorrector, session: ReadSession
) -> HTMLResponse:
    """Show the form to correct or retract one recorded observation."""
    return _correct_page(request, session, study_id, row_id, {}, {})


def _correct_page(
    request: Request,
    session: Session,
    study_id: str,
    row_id: int,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    try:
        row = repo.get_observation(session, row_id)
        patient = repo.get_patient(session, row.patient_id)
    except NotFoundError:
        return not_found(request, _("No such value."))
    if patient.study_id != study_id:
        return not_found(request, _("No such value."))
    return render(
        request, "correct.html", status, patient=patient, row=row, values=values, errors=errors,
        code=_display(row.code),
    )  # fmt: skip


def _display(code: str) -> str:
    from neurocart.ingest.codes import lookup

    try:
        return term(lookup(code).display)
    except Exception:  # a local code without an entry
        return code


@router.post("/patients/{study_id}/correct/observation/{row_id}")
def correct_save(
    request: Request, study_id: str, row_id: int, user: ObservationCorrector, pairs: FormPairs
) -> Response:
    """Correct or retract a recorded observation; a reason is required either way, and the
    change is signed (the password again; meaning "corrected")."""
    posted = dict(pairs)
    errors: dict[str, str] = {}
    meaning = signed_correction(request, user, posted.pop("password", ""), errors)
    reason = posted.get("reason", "").strip()
    if len(reason) < 3:
        errors["reason"] = _("required: say why the value is corrected (at least 3 characters)")
    retract = posted.get("action") == "retract"
    number = read_number(posted.get("value"))
    if not retract:
        if number.error:
            errors["value"] = number.error
        elif number.value is None:
            errors["value"] = _("required: the corrected value (or choose “entered in error”)")
    database = database_of(request)
    if not errors:
        try:
            with database.transaction() as session:
                old = repo.get_observation(session, row_id)
                if retract:
                    new = repo.retract_observation(session, user, row_id, reason=reason)
                else:
                    new = _corrected(session, user, old, float(number.value or 0), reason)
                record_signature(
                    session, user, meaning, action="retract" if retract else "correct",
                    entity_type="observation", entity_id=new.id, now=auth_now(request),
                )  # fmt: skip
        except (StoreError, InvalidInputError) as exc:
            errors["value"] = error_text(exc)
        else:
            return RedirectResponse(f"/patients/{study_id}?corrected={new.id}#recent", 303)
    with database.reading() as session:
        return _correct_page(request, session, study_id, row_id, posted, errors, 422)


def _corrected(session: Session, user: User, old: Observation, value: float, reason: str) -> Any:
    """The corrected copy, after the same plausibility check as any new value."""
    from neurocart.ingest import normalize_batch

    _, problems = normalize_batch(
        [{"code": old.code, "code_system": old.code_system, "value": value, "unit": old.unit,
          "effective_at": old.effective_at, "source": old.source}]
    )  # fmt: skip
    if problems:
        raise InvalidInputError([_problem(p) for p in problems])
    return repo.correct_observation(session, user, old.id, reason=reason, value=value)


def _problem(p: Any) -> Any:
    from neurocart.services.errors import Problem

    return Problem(p.field, p.message, p.got)


def entry_links(user: User) -> Sequence[EntryForm]:
    """The bedside entry forms this user may open, for the chart's links."""
    return forms_for(user)


VITAL_KEYS = (
    "temperature",
    "heart_rate",
    "systolic_bp",
    "diastolic_bp",
    "respiratory_rate",
    "spo2",
)
VITAL_CODES = frozenset(by_key(k).code for k in VITAL_KEYS)


def task_action(slot: Any) -> dict[str, str] | None:
    """How the chart completes a due or overdue slot: an event button, or the form to use."""
    if slot.state.value not in ("due", "overdue"):
        return None
    done = slot.task.completed_by
    for event in done.events:
        name = event.split(":", 1)[0]
        if name not in TASK_EVENTS_EXCLUDED and name in EventType._value2member_map_:
            return {"kind": "event", "event": name}
    if any(code in VITAL_CODES for code in done.observations):
        return {"kind": "form", "href": "record/vitals", "label": _("Record vitals")}
    if done.observations:
        return {"kind": "form", "href": "record/labs", "label": _("Record labs")}
    with_form = [name for name in done.assessments if name in REGISTRY]
    if with_form:  # "neuro_exam" is recorded, not calculated: no form of its own
        name = with_form[0]
        return {
            "kind": "form",
            "href": f"assess/{name}",
            "label": _("Record {name}").format(name=name.upper().replace("_", "-")),
        }
    return None
