"""Assessment forms: fill in, see the result with its reasons, then save.

The preview (htmx POST on every change) runs the same calculator the store runs on save, so
what the clinician sees before saving is what is recorded. Saving goes through
`services.assessments.add_assessment` (scored and audited; the monitor reads it from the
journal), exactly like the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from neurocart.i18n import N_, core_text, error_text, input_error, local_input
from neurocart.i18n import gettext as _
from neurocart.security import may_record_assessment
from neurocart.services import assessments
from neurocart.standards import CalculatorInputError, Result, UnknownCalculatorError, calculate
from neurocart.store import NotFoundError, StoreError, repo
from neurocart.store.models import User
from neurocart.store.repo import AssessmentIn
from neurocart.web.auth import PageForbidden, ReadSession, database_of, require
from neurocart.web.entry import read_time
from neurocart.web.forms import Form, form_for, parse_form, values_for_form
from neurocart.web.pages import FormPairs, now_of
from neurocart.web.templating import not_found, render

router = APIRouter(include_in_schema=False)

AssessmentWriter = Annotated[User, Depends(require("assessments", "write"))]
CalculatorReader = Annotated[User, Depends(require("calculators", "read"))]


def _form_or_404(request: Request, instrument: str) -> Form | HTMLResponse:
    try:
        return form_for(instrument)
    except UnknownCalculatorError:
        return render(
            request, "error.html", 404, title=_("Not found"),
            message=_("No assessment form called {name!r}.").format(name=instrument),
        )  # fmt: skip


def _check_instrument(user: User, instrument: str) -> None:
    if not may_record_assessment(user.role.value, instrument):
        raise PageForbidden(
            user, _("record {instrument} assessments").format(instrument=instrument)
        )


BLANK_NOT_NORMAL = {
    "crs": (
        "temperature_c",
        "fever_masked",
        N_(
            "required: the highest temperature of the last 24 h (a blank is not graded as "
            "“no fever”); or tick “fever masked” if tocilizumab or steroids were given"
        ),
    ),
}
"""Measurements a grade cannot do without: instrument → (field, unless this box is ticked,
message). The calculator reads a missing temperature as no fever — correct for a recorded
afebrile patient, wrong for one whose temperature nobody entered."""


def _evaluate(form: Form, inputs: dict[str, Any]) -> tuple[Result | None, dict[str, str]]:
    """The calculator's result, or the problems by field name."""
    rule = BLANK_NOT_NORMAL.get(form.calculator)
    if rule is not None and inputs.get(rule[0]) is None and not inputs.get(rule[1]):
        return None, {rule[0]: _(rule[2])}
    try:
        return calculate(form.calculator, inputs), {}
    except CalculatorInputError as exc:
        errors: dict[str, str] = {}
        for p in exc.problems:
            errors.setdefault(p.field, core_text(p.message))
        return None, errors


def _effective_at(text: str | None, now: datetime) -> tuple[datetime | None, str | None]:
    """The posted assessment time (`entry.read_time`: the site's wall clock)."""
    return read_time(text, now)


@router.get("/patients/{study_id}/assess/{instrument}", response_class=HTMLResponse)
def assess_form(
    request: Request, study_id: str, instrument: str, user: AssessmentWriter, session: ReadSession
) -> HTMLResponse:
    """The bedside form for one instrument, with the patient's last assessment of it for
    comparison."""
    _check_instrument(user, instrument)
    form = _form_or_404(request, instrument)
    if isinstance(form, HTMLResponse):
        return form
    try:
        patient = repo.find_patient(session, study_id)
    except NotFoundError:
        return not_found(request, _("No such patient."))
    previous = list(repo.list_assessments(session, patient.id, instrument=instrument))
    last = max(previous, key=lambda a: a.effective_at) if previous else None
    baseline_ice = _baseline_ice(session, patient.id) if instrument == "icans" else None
    names = set(form.all_names())
    values = {k: v for k, v in request.query_params.items() if k in names}
    if baseline_ice is not None and "baseline_ice_score" not in values:
        values["baseline_ice_score"] = str(baseline_ice)
    if last is not None and "previous_total" in names and "previous_total" not in values:
        values["previous_total"] = str(int(last.value))
    prefilled: list[str] = []
    if instrument == "crs":
        from neurocart.web.prefill import crs_inputs

        found = crs_inputs(session, patient.id, now_of(request))
        values = found.values | values  # what the link or the user gave wins
        prefilled = found.notes
    return render(
        request,
        "assess.html",
        patient=patient,
        form=form,
        values=values,
        errors={},
        result=None,
        last=last,
        prefilled=prefilled,
        effective_at=local_input(now_of(request)),
    )


def _baseline_ice(session: Any, patient_id: int) -> int | None:
    """The last ICE recorded before the infusion (the patient's own baseline), when there is one."""
    from neurocart.web.schedule import infusion_at, latest_course

    infusion = infusion_at(latest_course(session, patient_id))
    if infusion is None:
        return None
    before = [
        a
        for a in repo.list_assessments(session, patient_id, instrument="ice")
        if a.effective_at < infusion
    ]
    return int(max(before, key=lambda a: a.effective_at).value) if before else None


@router.post("/patients/{study_id}/assess/{instrument}/preview", response_class=HTMLResponse)
def assess_preview(
    request: Request, study_id: str, instrument: str, user: CalculatorReader, pairs: FormPairs
) -> HTMLResponse:
    """The result with its reasons, and every field's error slot (htmx out-of-band)."""
    form = _form_or_404(request, instrument)
    if isinstance(form, HTMLResponse):
        return form
    inputs = parse_form(form, pairs)
    result, errors = _evaluate(form, inputs)
    icans = _icans_from_ice(request, study_id, result) if instrument == "ice" else None
    filled = {name for name, value in pairs if value.strip()}
    missing = [name for name in errors if name not in filled and name in form.all_names()]
    return render(
        request,
        "_result.html",
        form=form,
        result=result,
        errors={k: v for k, v in errors.items() if k not in missing},
        missing=missing,
        labels=form.labels(),
        names=form.all_names(),
        can_save=may_record_assessment(user.role.value, instrument),
        icans=icans,
        study_id=study_id,
    )


def _icans_from_ice(request: Request, study_id: str, ice: Result | None) -> dict[str, Any] | None:
    """What this ICE means for the ICANS grade (ICE domain only, baseline-aware when the
    pre-infusion ICE is known), and the query that opens the ICANS form prefilled."""
    if ice is None:
        return None
    inputs: dict[str, Any] = {"ice_score": int(ice.number)}
    if ice.details.get("unarousable"):
        inputs["consciousness"] = "unarousable"
    with database_of(request).reading() as session:
        try:
            patient = repo.find_patient(session, study_id)
        except NotFoundError:
            return None
        baseline = _baseline_ice(session, patient.id)
    if baseline is not None:
        inputs["baseline_ice_score"] = baseline
    result = calculate("icans", inputs)
    query = "&".join(f"{k}={v}" for k, v in inputs.items())
    return {"result": result, "baseline": baseline, "query": query}


@router.post("/patients/{study_id}/assess/{instrument}")
def assess_save(
    request: Request, study_id: str, instrument: str, user: AssessmentWriter, pairs: FormPairs
) -> Response:
    """Score and store a submitted form; invalid items re-render it (422) naming each field, and
    nothing is stored."""
    _check_instrument(user, instrument)
    form = _form_or_404(request, instrument)
    if isinstance(form, HTMLResponse):
        return form
    posted = dict(pairs)
    inputs = parse_form(form, pairs)
    result, errors = _evaluate(form, inputs)
    now = now_of(request)
    at, at_error = _effective_at(posted.get("effective_at"), now)
    if at_error:
        errors["effective_at"] = at_error
    if result is None or at is None or errors:
        return _refill(request, study_id, form, pairs, errors, result, posted)
    database = database_of(request)
    try:
        with database.transaction() as session:
            patient = repo.find_patient(session, study_id)
            row = assessments.add_assessment(
                session, user, AssessmentIn(patient.id, instrument, inputs, at)
            )
            saved_id = row.id
    except NotFoundError:
        return not_found(request, _("No such patient."))
    except CalculatorInputError as exc:
        errors["(record)"] = input_error(exc)
        return _refill(request, study_id, form, pairs, errors, result, posted)
    except StoreError as exc:
        errors["(record)"] = error_text(exc)
        return _refill(request, study_id, form, pairs, errors, result, posted)
    return RedirectResponse(f"/patients/{study_id}?saved={saved_id}#recent", status_code=303)


def _refill(
    request: Request,
    study_id: str,
    form: Form,
    pairs: Sequence[tuple[str, str]],
    errors: dict[str, str],
    result: Result | None,
    posted: dict[str, str],
) -> HTMLResponse:
    with database_of(request).reading() as session:
        try:
            patient = repo.find_patient(session, study_id)
        except NotFoundError:
            return not_found(request, _("No such patient."))
        return render(
            request,
            "assess.html",
            422,
            patient=patient,
            form=form,
            values={**values_for_form(parse_form(form, pairs)), **_checkboxes(form, posted)},
            errors=errors,
            result=result,
            last=None,
            effective_at=posted.get("effective_at") or local_input(now_of(request)),
        )


def _checkboxes(form: Form, posted: dict[str, str]) -> dict[str, str]:
    return {f.name: posted.get(f.name, "") for f in form.fields if f.widget == "checkbox"}
