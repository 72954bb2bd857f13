"""Web forms for the structured study records: an MRI scan read and a nerve-conduction study.

    GET  /patients/{id}/studies/mri      the form          POST: check and save
    GET  /patients/{id}/studies/ncs      the form (a table of motor nerves)

A save goes through `neurocart.services.studies` — the same validation as the API, which
reads the record as `mri_activity` or the EAN/PNS 2021 calculator will — and a refusal shows
the form again with the message under the field it names (``nerves.2.cmap_distal_mv`` is row
3's distal CMAP). Numbers are read as typed at the bedside (`neurocart.web.numbers`: a decimal
comma is read, an ambiguous one refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neurocart.security import Action, Resource, is_allowed
from neurocart.services import studies
from neurocart.services.errors import InvalidInputError
from neurocart.standards import CalculatorInputError
from neurocart.store import NotFoundError, StoreError, repo
from neurocart.store.models import MriRegion, MriScan, NerveConductionStudy, User
from neurocart.web.auth import PageForbidden, check_origin, database_of, require
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

    def row_name(self, row: int, column: StudyField) -> str:
        return f"nerves.{row}.{column.name}"


MRI_FORM = StudyForm(
    "mri",
    "MRI scan",
    "Enter the read as the radiology report gives it. New and enlarging T2 lesions are counted "
    "against the comparator scan (give its date); Gd-enhancing lesions only when contrast was "
    "given.",
    (
        StudyField("scan_date", "Scan date", "date", required=True),
        StudyField("comparator_date", "Comparator scan date", "date",
                   help="blank for a baseline scan"),
        StudyField("region", "Region", "choice", choices=tuple(r.value for r in MriRegion)),
        StudyField("field_strength_t", "Field strength", unit="T"),
        StudyField("sequence_3d_flair", "3D T2-FLAIR acquired", "check"),
        StudyField("contrast_given", "Gadolinium given", "check"),
        StudyField("new_t2_lesions", "New T2 lesions", "integer"),
        StudyField("enlarging_t2_lesions", "Enlarging T2 lesions", "integer"),
        StudyField("gd_enhancing_lesions", "Gd-enhancing lesions", "integer"),
        StudyField("t2_lesion_volume_ml", "T2 lesion volume", unit="mL"),
        StudyField("brain_volume_ml", "Brain volume", unit="mL"),
        StudyField("pbvc_percent", "Brain volume change (PBVC)", unit="%",
                   help="as the software reports it, e.g. SIENA"),
        StudyField("software", "Software", "text"),
        StudyField("reader", "Reader", "text"),
    ),
)  # fmt: skip

NERVE_COLUMNS = (
    StudyField("nerve", "Nerve", "choice", choices=("median", "ulnar", "peroneal", "tibial")),
    StudyField("side", "Side", "choice", choices=("left", "right")),
    StudyField("distal_latency_ms", "Distal latency", unit="ms"),
    StudyField("distal_latency_uln_ms", "DL ULN", unit="ms"),
    StudyField("conduction_velocity_m_s", "Velocity", unit="m/s"),
    StudyField("conduction_velocity_lln_m_s", "CV LLN", unit="m/s"),
    StudyField("f_wave_latency_ms", "F latency", unit="ms"),
    StudyField("f_wave_uln_ms", "F ULN", unit="ms"),
    StudyField("f_waves_absent", "F absent", "check"),
    StudyField("cmap_distal_mv", "CMAP distal", unit="mV"),
    StudyField("cmap_proximal_mv", "CMAP proximal", unit="mV"),
    StudyField("cmap_lln_mv", "CMAP LLN", unit="mV"),
    StudyField("cmap_duration_distal_ms", "Duration distal", unit="ms"),
    StudyField("cmap_duration_proximal_ms", "Duration proximal", unit="ms"),
    StudyField("carpal_tunnel", "Carpal tunnel", "check"),
)
NCS_FORM = StudyForm(
    "ncs",
    "Nerve conduction study",
    "One row per motor nerve and side, with your laboratory's limits (ULN, LLN). The EAN/PNS "
    "2021 electrodiagnostic criteria for CIDP are read from these rows; blank rows are ignored.",
    (
        StudyField("study_date", "Study date", "date", required=True),
        StudyField("lab", "Laboratory", "text"),
    ),
    NERVE_COLUMNS,
    row_count=8,
)
FORMS: dict[str, StudyForm] = {f.key: f for f in (MRI_FORM, NCS_FORM)}


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
            return date.fromisoformat(text)
        except ValueError:
            errors[name] = f"expected a date such as 2026-03-03, got “{text}”"
            return None
    if f.kind == "choice" and text not in f.choices:
        errors[name] = f"expected one of {', '.join(f.choices)}"
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
            errors[f.name] = "required"
    if form.rows:
        nerves = []
        for i in range(form.row_count):
            row: dict[str, Any] = {}
            for c in form.rows:
                name = form.row_name(i, c)
                value = _read(c, posted.get(name, ""), errors, name)
                if value is not None and value is not False:
                    row[c.name] = value
            if row:
                nerves.append((i, row))
        if not nerves and not any(k.startswith("nerves.") for k in errors):
            errors["nerves"] = "enter at least one nerve (a row with nerve and side)"
        values["nerves"] = nerves
    return values, errors


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


def save(
    form: StudyForm, session: Session, user: User, patient_id: int, values: dict[str, Any]
) -> MriScan | NerveConductionStudy:
    """Validate and store through the studies service; Refused names the form's fields."""
    errors: dict[str, str] = {}
    rows: list[int] = []
    try:
        if form is MRI_FORM:
            return studies.record_mri_scan(
                session, user, patient_id, studies.MriScanIn.model_validate(values)
            )
        rows = [i for i, _ in values["nerves"]]
        body = values | {"nerves": [row for _, row in values["nerves"]]}
        return studies.record_ncs_study(
            session, user, patient_id, studies.NcsStudyIn.model_validate(body)
        )
    except ValidationError as exc:
        for e in exc.errors(include_url=False):
            loc = ".".join(str(x) for x in e["loc"])
            errors.setdefault(_posted_name(loc, rows), e["msg"].removeprefix("Value error, "))
    except CalculatorInputError as exc:
        for p in exc.problems:
            errors.setdefault(_posted_name(p.field, rows), p.message)
    except InvalidInputError as exc:
        for problem in exc.problems:
            errors.setdefault(_posted_name(problem.location, rows), problem.message)
    raise Refused(errors)


def _form(request: Request, key: str) -> StudyForm | HTMLResponse:
    form = FORMS.get(key)
    if form is None:
        return render(request, "error.html", 404, title="Not found", message=f"No form {key!r}.")
    return form


def _allowed(user: User) -> None:
    if not is_allowed(user.role.value, Resource.STUDIES, Action.WRITE):
        raise PageForbidden(user, "record study results")


def _page(
    request: Request,
    study_id: str,
    form: StudyForm,
    posted: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> HTMLResponse:
    with database_of(request).reading() as session:
        try:
            patient = repo.find_patient(session, study_id)
        except NotFoundError:
            return render(request, "error.html", 404, title="Not found", message="No such patient.")
    return render(
        request, "study_form.html", status, patient=patient, form=form, values=posted,
        errors=errors,
    )  # fmt: skip


@router.get("/patients/{study_id}/studies/{key}", response_class=HTMLResponse)
def study_form(request: Request, study_id: str, key: str, user: StudiesReader) -> HTMLResponse:
    """Show the MRI or nerve-conduction study form for a patient."""
    form = _form(request, key)
    if isinstance(form, HTMLResponse):
        return form
    _allowed(user)
    return _page(request, study_id, form, {}, {})


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
            return render(request, "error.html", 404, title="Not found", message="No such patient.")
        except Refused as exc:
            errors = exc.errors
        except StoreError as exc:
            errors = {"(form)": str(exc)}
        else:
            when = row.study_date if isinstance(row, NerveConductionStudy) else row.scan_date
            what = quote(f"{form.title} of {when.isoformat()}")
            return RedirectResponse(f"/patients/{study_id}?recorded={what}#studies", 303)
    return _page(request, study_id, form, posted, errors, 422)


__all__ = ["FORMS", "MRI_FORM", "NCS_FORM", "Refused", "read_posted", "router", "save"]
