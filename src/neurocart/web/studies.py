"""Web forms for the structured study records: an MRI scan read and a nerve-conduction study.

    GET  /patients/{id}/studies/mri                   the form          POST: check and save
    GET  /patients/{id}/studies/ncs                   the form (a table of motor nerves)
    POST /patients/{id}/studies/{key}/check           the live check as the user types (htmx)
    GET  /patients/{id}/studies/{key}/{row}/correct   the record's form, filled in, to correct
    POST /patients/{id}/studies/{key}/{row}/correct   correct or retract it (reason, signature)

A save goes through `neurocart.services.studies` — the same validation as the API, which
reads the record as `mri_activity` or the EAN/PNS 2021 calculator will — and a refusal shows
the form again with the message under the field it names (``nerves.2.cmap_distal_mv`` is row
3's distal CMAP). The live check runs that very validation without storing and shows how the
record will be read (the activity, the criteria, with their reasons). A correction supersedes
the record through the same service as the API (`correct_mri_scan`, `correct_ncs_study`,
`retract_study`: a new row naming the old one, with the reason, audited; the old one stays),
signed with the password (meaning "corrected"). Numbers are read as typed at the bedside
(`neurocart.web.numbers`: a decimal comma is read, an ambiguous one refused).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neurocart.i18n import N_, core_text, error_text, format_date, parse_local_date, refusal
from neurocart.i18n import gettext as _
from neurocart.security import Action, Resource, is_allowed
from neurocart.services import studies
from neurocart.services.accounts import record_signature
from neurocart.services.errors import InvalidInputError
from neurocart.standards import CalculatorInputError, Result
from neurocart.store import NotFoundError, StoreError, records, repo
from neurocart.store.models import ENTITY_TYPE, MriRegion, MriScan, NerveConductionStudy, User
from neurocart.web.auth import (
    PageForbidden,
    auth_now,
    check_origin,
    database_of,
    require,
    signed_correction,
)
from neurocart.web.localized import term
from neurocart.web.numbers import read_number
from neurocart.web.pages import FormPairs
from neurocart.web.templating import render

router = APIRouter(include_in_schema=False)

StudiesReader = Annotated[User, Depends(require(Resource.STUDIES, Action.READ))]

Kind = Literal["date", "number", "integer", "choice", "check", "text"]


@dataclass(frozen=True)
class StudyField:
    """One input of a study form; `name` is the record's field name (errors name it)."""

    name: str
    label: str
    kind: Kind = "number"
    unit: str = ""
    choices: tuple[str, ...] = ()
    required: bool = False
    help: str = ""

    @property
    def dom_id(self) -> str:
        return "s-" + self.name.replace(".", "-")


@dataclass(frozen=True)
class StudyForm:
    """A study form: its record fields and, for a nerve-conduction study, the nerve table."""

    key: str
    title: str
    intro: str
    fields: tuple[StudyField, ...]
    rows: tuple[StudyField, ...] = ()
    """Columns of the per-nerve table (posted as ``nerves.<row>.<column>``)."""
    row_count: int = 0
    model: type[MriScan] | type[NerveConductionStudy] = MriScan
    """The store's record model (corrections load and supersede rows of it)."""

    def row_name(self, row: int, column: StudyField) -> str:
        return f"nerves.{row}.{column.name}"

    def names(self, rows: int | None = None) -> list[str]:
        """Every input's name (a field's error slot is swapped by it), rows included."""
        names = [f.name for f in self.fields]
        if self.rows:
            names.append("nerves")
            names += [self.row_name(i, c) for i in range(rows or self.row_count) for c in self.rows]
        return names

    def labels(self, rows: int | None = None) -> dict[str, str]:
        """What the live check calls each input in its list of problems (translated)."""
        labels = {f.name: term(f.label) for f in self.fields}
        if self.rows:
            labels["nerves"] = _("Motor nerves")
            for i in range(rows or MAX_ROWS):
                labels[f"nerves.{i}"] = _("row {n}").format(n=i + 1)
                for c in self.rows:
                    labels[self.row_name(i, c)] = _("row {n}: {label}").format(
                        n=i + 1, label=term(c.label)
                    )
        return labels


MRI_FORM = StudyForm(
    "mri",
    N_("MRI scan"),
    N_(
        "Enter the read as the radiology report gives it. New and enlarging T2 lesions are "
        "counted against the comparator scan (give its date); Gd-enhancing lesions only when "
        "contrast was given."
    ),
    (
        StudyField("scan_date", N_("Scan date"), "date", required=True),
        StudyField("comparator_date", N_("Comparator scan date"), "date",
                   help=N_("blank for a baseline scan")),
        StudyField("region", N_("Region"), "choice", choices=tuple(r.value for r in MriRegion)),
        StudyField("field_strength_t", N_("Field strength"), unit="T"),
        StudyField("sequence_3d_flair", N_("3D T2-FLAIR acquired"), "check"),
        StudyField("contrast_given", N_("Gadolinium given"), "check"),
        StudyField("new_t2_lesions", N_("New T2 lesions"), "integer"),
        StudyField("enlarging_t2_lesions", N_("Enlarging T2 lesions"), "integer"),
        StudyField("gd_enhancing_lesions", N_("Gd-enhancing lesions"), "integer"),
        StudyField("t2_lesion_volume_ml", N_("T2 lesion volume"), unit="mL"),
        StudyField("brain_volume_ml", N_("Brain volume"), unit="mL"),
        StudyField("pbvc_percent", N_("Brain volume change (PBVC)"), unit="%",
                   help=N_("as the software reports it, e.g. SIENA")),
        StudyField("software", N_("Software"), "text"),
        StudyField("reader", N_("Reader"), "text"),
    ),
)  # fmt: skip

NERVE_COLUMNS = (
    StudyField("nerve", N_("Nerve"), "choice", choices=("median", "ulnar", "peroneal", "tibial")),
    StudyField("side", N_("Side"), "choice", choices=("left", "right")),
    StudyField("distal_latency_ms", N_("Distal latency"), unit="ms"),
    StudyField("distal_latency_uln_ms", N_("DL ULN"), unit="ms"),
    StudyField("conduction_velocity_m_s", N_("Velocity"), unit="m/s"),
    StudyField("conduction_velocity_lln_m_s", N_("CV LLN"), unit="m/s"),
    StudyField("f_wave_latency_ms", N_("F latency"), unit="ms"),
    StudyField("f_wave_uln_ms", N_("F ULN"), unit="ms"),
    StudyField("f_waves_absent", N_("F absent"), "check"),
    StudyField("cmap_distal_mv", N_("CMAP distal"), unit="mV"),
    StudyField("cmap_proximal_mv", N_("CMAP proximal"), unit="mV"),
    StudyField("cmap_lln_mv", N_("CMAP LLN"), unit="mV"),
    StudyField("cmap_duration_distal_ms", N_("Duration distal"), unit="ms"),
    StudyField("cmap_duration_proximal_ms", N_("Duration proximal"), unit="ms"),
    StudyField("carpal_tunnel", N_("Carpal tunnel"), "check"),
)
NCS_FORM = StudyForm(
    "ncs",
    N_("Nerve conduction study"),
    N_(
        "One row per motor nerve and side, with your laboratory's limits (ULN, LLN). The "
        "EAN/PNS 2021 electrodiagnostic criteria for CIDP are read from these rows; blank rows "
        "are ignored."
    ),
    (
        StudyField("study_date", N_("Study date"), "date", required=True),
        StudyField("lab", N_("Laboratory"), "text"),
    ),
    NERVE_COLUMNS,
    row_count=8,
    model=NerveConductionStudy,
)
FORMS: dict[str, StudyForm] = {f.key: f for f in (MRI_FORM, NCS_FORM)}
CHOICE_WORDS = tuple(
    c.replace("_", " ") for form in FORMS.values() for f in (*form.fields, *form.rows)
    for c in f.choices
)  # fmt: skip
"""The choices as the form shows them (for the catalogues: the template translates each)."""
MAX_ROWS = 16
"""Nerve rows a study holds at most (the service's limit): a correction form shows them all."""


def _read(f: StudyField, text: str, errors: dict[str, str], name: str) -> Any:
    """The posted text as the field's type, or None when blank; errors[name] when unreadable."""
    text = text.strip()
    if f.kind == "check":
        return text not in ("", "off", "false")
    if not text:
        return None
    if f.kind in ("number", "integer"):
        number = read_number(text, integer=f.kind == "integer")
        if number.error:
            errors[name] = number.error
        return number.value
    if f.kind == "date":
        try:
            return parse_local_date(text)
        except ValueError:
            errors[name] = _("expected a date such as 2026-03-03, got “{text}”").format(text=text)
            return None
    if f.kind == "choice" and text not in f.choices:
        errors[name] = _("expected one of {choices}").format(choices=", ".join(f.choices))
        return None
    return text[:64]


def read_posted(
    form: StudyForm, posted: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The record's values from the posted form (blanks left out) and the fields unreadable."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for f in form.fields:
        value = _read(f, posted.get(f.name, ""), errors, f.name)
        if value is not None and value is not False:  # an unticked box: the record's default
            values[f.name] = value
        if f.required and value is None and f.name not in errors:
            errors[f.name] = _("required")
    if form.rows:
        nerves = []
        for i in range(posted_rows(form, posted)):
            row: dict[str, Any] = {}
            for c in form.rows:
                name = form.row_name(i, c)
                value = _read(c, posted.get(name, ""), errors, name)
                if value is not None and value is not False:
                    row[c.name] = value
            if row:
                nerves.append((i, row))
        if not nerves and not any(k.startswith("nerves.") for k in errors):
            errors["nerves"] = _("enter at least one nerve (a row with nerve and side)")
        values["nerves"] = nerves
    return values, errors


def posted_rows(form: StudyForm, posted: Mapping[str, str]) -> int:
    """How many nerve rows the posted form has: the form's, or a correction form's more."""
    used = [
        int(parts[1])
        for parts in (k.split(".") for k in posted)
        if len(parts) == 3 and parts[0] == "nerves" and parts[1].isdigit()
    ]
    return min(MAX_ROWS, max([form.row_count, *(i + 1 for i in used)]))


def _posted_name(location: str, rows: Sequence[int]) -> str:
    """A record location (``nerves.1.side``, ``changes.x``) as the form's field name: list
    positions of the stored nerves back to the form's row numbers (blank rows were skipped)."""
    parts = location.removeprefix("changes.").split(".")
    if (
        len(parts) >= 2
        and parts[0] == "nerves"
        and parts[1].isdigit()
        and int(parts[1]) < len(rows)
    ):
        parts[1] = str(rows[int(parts[1])])
    return ".".join(parts)


class Refused(Exception):  # noqa: N818 - a refusal, shown on the form
    """The service refused the record; `errors` by the form's field names."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@contextmanager
def _refusals(values: Mapping[str, Any]) -> Iterator[None]:
    """Turn the service's refusals into Refused, by the form's field names."""
    rows = [i for i, _row in values.get("nerves", [])]
    errors: dict[str, str] = {}
    try:
        yield
    except ValidationError as exc:
        for e in exc.errors(include_url=False):
            loc = ".".join(str(x) for x in e["loc"])
            message = e["msg"].removeprefix("Value error, ")
            errors.setdefault(_posted_name(loc, rows), core_text(message))
    except CalculatorInputError as exc:
        for p in exc.problems:
            errors.setdefault(_posted_name(p.field, rows), core_text(p.message))
    except InvalidInputError as exc:
        for problem in exc.problems:
            errors.setdefault(_posted_name(problem.location, rows), refusal(problem.message))
    else:
        return
    raise Refused(errors)


def _mri(values: Mapping[str, Any]) -> studies.MriScanIn:
    return studies.MriScanIn.model_validate(values)


def _ncs(values: Mapping[str, Any]) -> studies.NcsStudyIn:
    body = dict(values) | {"nerves": [row for _, row in values["nerves"]]}
    return studies.NcsStudyIn.model_validate(body)


def check(form: StudyForm, session: Session, patient_id: int, values: Mapping[str, Any]) -> Result:
    """The save's own validation without storing: how the record will be read (the MRI
    activity, the EAN/PNS 2021 criteria); Refused names the form's fields."""
    with _refusals(values):
        if form is MRI_FORM:
            return studies.check_mri_scan(session, patient_id, _mri(values))
        return studies.check_ncs_study(_ncs(values))
    raise AssertionError("unreachable")  # pragma: no cover - _refusals raises or returns


def save(
    form: StudyForm, session: Session, user: User, patient_id: int, values: dict[str, Any]
) -> MriScan | NerveConductionStudy:
    """Validate and store through the studies service; Refused names the form's fields."""
    with _refusals(values):
        if form is MRI_FORM:
            return studies.record_mri_scan(session, user, patient_id, _mri(values))
        return studies.record_ncs_study(session, user, patient_id, _ncs(values))
    raise AssertionError("unreachable")  # pragma: no cover


def correct(
    form: StudyForm, session: Session, user: User, row_id: int, values: dict[str, Any],
    reason: str,
) -> MriScan | NerveConductionStudy:  # fmt: skip
    """Supersede the record with the form's content (the whole form: a field left blank is
    cleared), through the service that validates it as a new record; Refused by field."""
    with _refusals(values):
        if form is MRI_FORM:
            changes = _mri(values).model_dump()
            return studies.correct_mri_scan(session, user, row_id, reason=reason, changes=changes)
        study = _ncs(values)  # sensory nerves (not on the form) stay as recorded
        changes = {"study_date": study.study_date, "lab": study.lab, "nerves": study.nerves}
        return studies.correct_ncs_study(session, user, row_id, reason=reason, changes=changes)
    raise AssertionError("unreachable")  # pragma: no cover


def posted_values(form: StudyForm, row: MriScan | NerveConductionStudy) -> dict[str, str]:
    """A stored record as the form's posted text (to correct it in the same form)."""

    def text(value: Any) -> str | None:
        if value is None or value is False:
            return None
        if value is True:
            return "on"
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else repr(value)
        if isinstance(value, date):
            return value.isoformat()
        return str(getattr(value, "value", value))

    out: dict[str, str] = {}
    stored = records.values_of(row)
    for f in form.fields:
        shown = text(stored.get(f.name))
        if shown is not None:
            out[f.name] = shown
    for i, nerve in enumerate(stored.get("nerves") or []):
        for c in form.rows:
            shown = text(nerve.get(c.name))
            if shown is not None:
                out[form.row_name(i, c)] = shown
    return out


def _form(request: Request, key: str) -> StudyForm | HTMLResponse:
    form = FORMS.get(key)
    if form is None:
        return render(request, "error.html", 404, title=_("Not found"),
                      message=_("No form {key!r}.").format(key=key))  # fmt: skip
    return form


def _allowed(user: User, action: Action = Action.WRITE) -> None:
    if not is_allowed(user.role.value, Resource.STUDIES, action):
        raise PageForbidden(
            user,
            _("record study results") if action is Action.WRITE else _("correct study results"),
        )


def _no_patient(request: Request) -> HTMLResponse:
    return render(request, "error.html", 404, title=_("Not found"),
                  message=_("No such patient."))  # fmt: skip


def _page(
    request: Request,
    study_id: str,
    form: StudyForm,
    posted: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
    correcting: MriScan | NerveConductionStudy | None = None,
) -> HTMLResponse:
    with database_of(request).reading() as session:
        try:
            patient = repo.find_patient(session, study_id)
        except NotFoundError:
            return _no_patient(request)
    rows = posted_rows(form, posted) if form.rows else 0
    return render(
        request, "study_form.html", status, patient=patient, form=form, values=posted,
        errors=errors, row_count=rows, correcting=correcting,
        record_date=None if correcting is None else _date(correcting),
    )  # fmt: skip


def _date(row: MriScan | NerveConductionStudy) -> date:
    return row.study_date if isinstance(row, NerveConductionStudy) else row.scan_date


@router.get("/patients/{study_id}/studies/{key}", response_class=HTMLResponse)
def study_form(request: Request, study_id: str, key: str, user: StudiesReader) -> HTMLResponse:
    """Show the MRI or nerve-conduction study form for a patient."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    _allowed(user)
    return _page(request, study_id, form, {}, {})


def _touched(posted: Mapping[str, str]) -> set[str]:
    return {k for k, v in posted.items() if v.strip()}


@router.post("/patients/{study_id}/studies/{key}/check", response_class=HTMLResponse)
def study_check(
    request: Request, study_id: str, key: str, user: StudiesReader, pairs: FormPairs
) -> HTMLResponse:
    """The save's own check on what is typed so far: how the record will be read, or what is
    wrong (a field left blank is not an error yet), each field's message out of band."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    if not (is_allowed(user.role.value, Resource.STUDIES, Action.WRITE)
            or is_allowed(user.role.value, Resource.STUDIES, Action.CORRECT)):  # fmt: skip
        raise PageForbidden(user, _("record study results"))
    check_origin(request)
    posted = {k: v for k, v in pairs if k not in ("password", "reason", "action")}
    values, read_errors = read_posted(form, posted)
    touched = _touched(posted)
    nerves_touched = any(k.startswith("nerves.") for k in touched)
    required = _("required")  # as `read_posted` says it, in the reader's language
    errors = {
        k: v for k, v in read_errors.items()
        if (k in touched or v != required) and (k != "nerves" or nerves_touched)
    }  # fmt: skip
    result: Result | None = None
    if not read_errors:
        with database_of(request).reading() as session:
            try:
                patient = repo.find_patient(session, study_id)
                result = check(form, session, patient.id, values)
            except NotFoundError:
                return _no_patient(request)
            except Refused as exc:
                errors = exc.errors
    rows = posted_rows(form, posted) if form.rows else 0
    return render(
        request, "_study_check.html", form=form, result=result, errors=errors,
        labels=form.labels(rows or None), names=form.names(rows or None), oob=True,
    )  # fmt: skip


@router.post("/patients/{study_id}/studies/{key}")
def study_save(
    request: Request, study_id: str, key: str, user: StudiesReader, pairs: FormPairs
) -> Response:
    """Check and save a study record; on errors, show the form again with them marked."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    _allowed(user)
    check_origin(request)
    posted = dict(pairs)
    values, errors = read_posted(form, posted)
    if not errors:
        try:
            with database_of(request).transaction() as session:
                patient = repo.find_patient(session, study_id)
                row = save(form, session, user, patient.id, values)
        except NotFoundError:
            return _no_patient(request)
        except Refused as exc:
            errors = exc.errors
        except StoreError as exc:
            errors = {"(form)": error_text(exc)}
        else:
            what = quote(
                _("{title} of {date}").format(title=_(form.title), date=format_date(_date(row)))
            )
            return RedirectResponse(f"/patients/{study_id}?recorded={what}#studies", 303)
    return _page(request, study_id, form, posted, errors, 422)


# --- corrections ------------------------------------------------------------------------------


def _record(
    request: Request, form: StudyForm, study_id: str, row_id: int
) -> tuple[MriScan | NerveConductionStudy | None, HTMLResponse | None]:
    """The record to correct, if it is the patient's and not retracted; else the 404 page."""
    with database_of(request).reading() as session:
        try:
            row: MriScan | NerveConductionStudy = (
                records.get(session, MriScan, row_id)
                if form.model is MriScan
                else records.get(session, NerveConductionStudy, row_id)
            )
            mine = repo.get_patient(session, row.patient_id).study_id == study_id
        except NotFoundError:
            mine = False
        if not mine or row.entered_in_error:
            return None, render(request, "error.html", 404, title=_("Not found"),
                                message=_("No such record."))  # fmt: skip
        session.expunge(row)
        return row, None


@router.get("/patients/{study_id}/studies/{key}/{row_id}/correct", response_class=HTMLResponse)
def study_correct_form(
    request: Request, study_id: str, key: str, row_id: int, user: StudiesReader
) -> HTMLResponse:
    """The record's form filled in with what is stored, to correct it (or retract it)."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    _allowed(user, Action.CORRECT)
    row, missing = _record(request, form, study_id, row_id)
    if row is None:
        assert missing is not None
        return missing
    return _page(request, study_id, form, posted_values(form, row), {}, correcting=row)


@router.post("/patients/{study_id}/studies/{key}/{row_id}/correct")
def study_correct(
    request: Request, study_id: str, key: str, row_id: int, user: StudiesReader, pairs: FormPairs
) -> Response:
    """Correct the record with the form's content, or retract it ("entered in error"): a new
    row supersedes it with the reason, audited and signed; the old row stays readable."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    _allowed(user, Action.CORRECT)
    check_origin(request)
    row, missing = _record(request, form, study_id, row_id)
    if row is None:
        assert missing is not None
        return missing
    posted = dict(pairs)
    errors: dict[str, str] = {}
    meaning = signed_correction(request, user, posted.pop("password", ""), errors)
    reason = posted.get("reason", "").strip()
    if len(reason) < 3:
        errors["reason"] = _("required: say why the record is corrected (at least 3 characters)")
    retract = posted.get("action") == "retract"
    values, read_errors = ({}, {}) if retract else read_posted(form, posted)
    errors |= read_errors
    if not errors:
        try:
            with database_of(request).transaction() as session:
                if retract:
                    new = studies.retract_study(session, user, form.model, row_id, reason=reason)
                else:
                    new = correct(form, session, user, row_id, values, reason)
                record_signature(
                    session, user, meaning, action="retract" if retract else "correct",
                    entity_type=ENTITY_TYPE[form.model], entity_id=new.id,
                    now=auth_now(request),
                )  # fmt: skip
        except Refused as exc:
            errors = exc.errors
        except StoreError as exc:
            errors = {"(form)": error_text(exc)}
        else:
            return RedirectResponse(f"/patients/{study_id}?corrected={new.id}#studies", 303)
    return _page(request, study_id, form, posted, errors, 422, correcting=row)


__all__ = [
    "FORMS", "MRI_FORM", "NCS_FORM", "Refused", "check", "correct", "posted_values",
    "read_posted", "router", "save",
]  # fmt: skip
