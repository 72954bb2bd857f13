"""The bedside entry forms as data, and the one check both the live preview and the save run.

Each `EntryForm` lists its fields; `check(form, posted, now)` reads the posted text (numbers
through `neurocart.web.numbers`, so a decimal comma is read or refused, never misread),
applies the form's own rules and — for measurements — runs the very normalization the
ingest service runs on save (`neurocart.ingest.normalize_batch`: unit conversion to SI and
the physiologically possible range), so the message a nurse sees while typing is the
message the server would give. A blank measurement is left out, never stored as normal.

Forms: vitals (a full set), labs (a panel, each in the unit the lab reports), a drug given
(tocilizumab with its dose, steroids ...), a vasopressor, oxygen support, and clinical
events (seizure, infection, relapse, transfer to the ICU).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from neurocart.i18n import from_local, parse_local, refusal, term
from neurocart.i18n import gettext as _
from neurocart.ingest import normalize_batch
from neurocart.ingest.codes import by_key
from neurocart.standards.crs import OxygenDevice
from neurocart.store.models import EventType
from neurocart.web.localized import DRUG_NAMES
from neurocart.web.numbers import read_number

Kind = Literal["number", "integer", "choice", "text", "datetime"]
FUTURE_SKEW = timedelta(minutes=5)
SOURCE = "bedside form"


@dataclass(frozen=True)
class EntryField:
    """One input. `code` names the observation (`neurocart.ingest.codes` key) it records;
    `units` are the units the user may pick (the first is preselected)."""

    name: str
    label: str
    kind: Kind = "number"
    code: str | None = None
    units: tuple[str, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False
    help: str = ""

    @property
    def dom_id(self) -> str:
        return f"e-{self.name}"

    @property
    def unit_name(self) -> str:
        return f"{self.name}__unit"

    @property
    def possible(self) -> str:
        """The possible range in the canonical unit, for the hint under the field."""
        return by_key(self.code).range_text() if self.code else ""


@dataclass(frozen=True)
class EntryForm:
    """A bedside entry form: its fields and the permission resource a save writes."""

    key: str
    title: str
    resource: str
    """The permission matrix's resource a save writes (observations or events)."""
    intro: str
    fields: tuple[EntryField, ...]
    at_label: str = "Measured at"


@dataclass
class Checked:
    """What a check found: errors and notes by field, and what a save would store."""

    errors: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    observations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.observations or self.events)


def _vital(name: str, label: str, code: str, units: tuple[str, ...], help: str = "") -> EntryField:
    return EntryField(name, label, "number", code, units, help=help)


VITALS = EntryForm(
    "vitals",
    "Vital signs",
    "observations",
    "A full set in one go; leave blank what was not measured (a blank is never taken as "
    "normal). Repeat every few minutes as needed.",
    (
        _vital("temperature", "Temperature", "temperature", ("°C", "°F")),
        _vital("heart_rate", "Heart rate", "heart_rate", ("/min",)),
        _vital("systolic_bp", "Systolic blood pressure", "systolic_bp", ("mmHg", "kPa")),
        _vital("diastolic_bp", "Diastolic blood pressure", "diastolic_bp", ("mmHg", "kPa")),
        _vital("respiratory_rate", "Respiratory rate", "respiratory_rate", ("/min",)),
        _vital("spo2", "Oxygen saturation (SpO₂)", "spo2", ("%",)),
    ),
)


def _lab(name: str, label: str, units: tuple[str, ...]) -> EntryField:
    return EntryField(name, label, "number", name, units)


LABS = EntryForm(
    "labs",
    "Laboratory panel",
    "observations",
    "Type each result in the unit the laboratory reported and pick that unit: it is converted "
    "to SI once, on saving. Leave blank what was not measured.",
    (
        _lab("crp", "C-reactive protein (CRP)", ("mg/L", "mg/dL")),
        _lab("ferritin", "Ferritin", ("µg/L", "ng/mL")),
        _lab("il6", "Interleukin-6", ("ng/L", "pg/mL")),
        _lab("neutrophils", "Neutrophils", ("×10⁹/L", "/µL")),
        _lab("lymphocytes", "Lymphocytes", ("×10⁹/L", "/µL")),
        _lab("platelets", "Platelets", ("×10⁹/L", "/µL")),
        _lab("hemoglobin", "Hemoglobin", ("g/L", "g/dL")),
        _lab("ldh", "Lactate dehydrogenase (LDH)", ("U/L",)),
        _lab("creatinine", "Creatinine", ("µmol/L", "mg/dL")),
        _lab("fibrinogen", "Fibrinogen", ("g/L", "mg/dL")),
    ),
    at_label="Sampled at",
)

DRUGS: tuple[tuple[str, str], ...] = tuple(
    (code, DRUG_NAMES[code])
    for code in (
        "tocilizumab", "dexamethasone", "methylprednisolone", "siltuximab", "anakinra",
        "levetiracetam",
    )
)  # fmt: skip
"""The drug form's choices: (stored code, name), named as everywhere (`localized.drug`)."""
TOCILIZUMAB_MAX_MG = 800.0
TOCILIZUMAB_MAX_MG_KG = 12.0
"""Tocilizumab 8 mg/kg IV (12 mg/kg under 30 kg), at most 800 mg a dose (ASTCT/EBMT practice;
Lee DW et al., Biol Blood Marrow Transplant 2019;25:625–38, doi:10.1016/j.bbmt.2018.12.758)."""

DRUG = EntryForm(
    "drug",
    "Drug given",
    "events",
    "Anti-cytokine therapy and steroids mask fever: recording them keeps the CRS grade right.",
    (
        EntryField("drug", "Drug", "choice", choices=DRUGS, required=True),
        EntryField("dose", "Dose", "number", units=("mg", "mg/kg"), required=True),
        EntryField(
            "route", "Route", "choice", choices=(("iv", "IV"), ("oral", "oral"), ("sc", "SC"))
        ),
    ),
    at_label="Given at",
)

PRESSORS: tuple[tuple[str, str], ...] = (
    ("norepinephrine", "Norepinephrine"),
    ("epinephrine", "Epinephrine"),
    ("phenylephrine", "Phenylephrine"),
    ("dopamine", "Dopamine"),
    ("vasopressin", "Vasopressin"),
)
VASOPRESSOR = EntryForm(
    "vasopressor",
    "Vasopressor",
    "events",
    "One agent per entry; enter the stop time when it is stopped (running agents count towards "
    "the CRS grade).",
    (
        EntryField("agent", "Agent", "choice", choices=PRESSORS, required=True),
        EntryField("rate", "Rate", "number", units=("µg/kg/min", "U/min")),
        EntryField("stopped_at", "Stopped at (blank: still running)", "datetime"),
    ),
    at_label="Started at",
)

DEVICES: tuple[tuple[str, str], ...] = tuple(
    (d, d.replace("_", " "))
    for d in OxygenDevice.__args__  # type: ignore[attr-defined]
)
OXYGEN = EntryForm(
    "oxygen",
    "Oxygen support",
    "events",
    "The device and flow now; choose “none” when oxygen is stopped.",
    (
        EntryField("device", "Device", "choice", choices=DEVICES, required=True),
        EntryField("flow", "Flow", "number", units=("L/min",)),
    ),
    at_label="Since",
)

EVENT_KINDS: tuple[tuple[str, str], ...] = (
    ("seizure", "Seizure"),
    ("infection", "Infection"),
    ("relapse", "Relapse of the disease"),
    ("icu_transfer", "Transfer to the ICU"),
)
EVENT = EntryForm(
    "event",
    "Clinical event",
    "events",
    "A seizure, an infection, a relapse of the neurological disease, or a transfer to the ICU.",
    (
        EntryField("kind", "Event", "choice", choices=EVENT_KINDS, required=True),
        EntryField("grade", "CTCAE grade (1–5)", "integer"),
        EntryField("term", "Description (e.g. pathogen, site)", "text"),
    ),
    at_label="Onset at",
)

FORMS: dict[str, EntryForm] = {f.key: f for f in (VITALS, LABS, DRUG, VASOPRESSOR, OXYGEN, EVENT)}


def read_time(text: str | None, now: datetime) -> tuple[datetime | None, str | None]:
    """A posted date-time as the UTC instant it means: a wall-clock time without a zone
    (`parse_local`: "2026-03-03 08:30") is on the site's clock; not in the future."""
    if not text or not text.strip():
        return now, None
    try:
        at = from_local(parse_local(text))
    except ValueError:
        return None, _(
            "expected a date and 24-hour time such as 2026-03-03 08:30, got “{text}”"
        ).format(text=text)
    except OverflowError:
        return None, _("outside the range of dates once converted to UTC")
    if at > now + FUTURE_SKEW:
        return None, _("must not be in the future")
    return at, None


def check(form: EntryForm, posted: Mapping[str, str], now: datetime) -> Checked:
    """Read and check `posted` for `form` exactly as a save would."""
    out = Checked()
    at, error = read_time(posted.get("at"), now)
    if error:
        out.errors["at"] = error
    out.at = at
    values: dict[str, Any] = {}
    for f in form.fields:
        text = posted.get(f.name, "")
        if f.kind in ("number", "integer"):
            number = read_number(text, integer=f.kind == "integer")
            if number.error:
                out.errors[f.name] = number.error
            elif number.value is not None:
                values[f.name] = number.value
                if number.note:
                    out.notes[f.name] = number.note
            if f.units:
                unit = posted.get(f.unit_name) or f.units[0]
                if unit not in f.units:
                    out.errors[f.unit_name] = _("unit: expected one of {units}").format(
                        units=", ".join(f.units)
                    )
                values[f.unit_name] = unit
        elif f.kind == "choice":
            if text:
                if text not in dict(f.choices):
                    out.errors[f.name] = _("expected one of {choices}").format(
                        choices=", ".join(dict(f.choices))
                    )
                else:
                    values[f.name] = text
        elif f.kind == "datetime":
            if text.strip():
                when, problem = read_time(text, now)
                if problem:
                    out.errors[f.name] = problem
                else:
                    values[f.name] = when
        elif text.strip():
            values[f.name] = text.strip()[:128]
        if f.required and f.name not in values and f.name not in out.errors:
            out.errors[f.name] = _("required")
    if form.resource == "observations":
        _observations(form, values, at, out)
    else:
        _event(form, values, at, out)
    return out


def _observations(
    form: EntryForm, values: dict[str, Any], at: datetime | None, out: Checked
) -> None:
    rows: list[tuple[EntryField, dict[str, Any]]] = []
    for f in form.fields:
        if f.code is None or f.name not in values:
            continue
        code = by_key(f.code)
        rows.append(
            (
                f,
                {
                    "code": code.code, "code_system": code.system, "value": values[f.name],
                    "unit": values[f.unit_name], "effective_at": at or datetime.now(UTC),
                    "source": SOURCE,
                },
            )
        )  # fmt: skip
    if not rows and not out.errors:
        out.errors["(form)"] = _("nothing entered: fill in at least one measurement")
        return
    normalized, problems = normalize_batch([r for _, r in rows])
    for problem in problems:
        f = rows[problem.index][0]
        name = f.unit_name if problem.field == "unit" else f.name
        out.errors.setdefault(name, refusal(problem.message))
    if problems:
        return
    for (f, row), n in zip(rows, normalized, strict=True):
        out.observations.append(row)
        shown = f"{values[f.name]:g} {row['unit']}"
        if n.unit != row["unit"]:
            shown += f" = {n.value:g} {n.unit}"
        out.summary.append(_("{field}: {text}").format(field=_(f.label), text=shown))


def _event(form: EntryForm, values: dict[str, Any], at: datetime | None, out: Checked) -> None:
    if out.errors or at is None:
        return
    event: dict[str, Any] = {"onset_at": at, "details": {"entered_with": "bedside form"}}
    if form is DRUG:
        drug, dose, unit = values["drug"], float(values["dose"]), values["dose__unit"]
        if dose <= 0:
            out.errors["dose"] = _("must be greater than 0")
            return
        if drug == "tocilizumab":
            limit = TOCILIZUMAB_MAX_MG if unit == "mg" else TOCILIZUMAB_MAX_MG_KG
            if dose > limit:
                out.errors["dose"] = _(
                    "tocilizumab: at most {limit} {unit} a dose (8 mg/kg, max 800 mg)"
                ).format(limit=f"{limit:g}", unit=unit)
                return
        route = values.get("route")
        event |= {"type": EventType.DRUG_GIVEN, "drug": drug, "dose": dose, "dose_unit": unit}
        if route:
            event["details"] = event["details"] | {"route": route}
        given = f"{_(dict(DRUGS)[drug])} {dose:g} {unit}"
        out.summary.append(given + (f" {term(route)}" if route else ""))
    elif form is VASOPRESSOR:
        agent = values["agent"]
        event |= {"type": EventType.DRUG_GIVEN, "drug": agent, "details": {"agent": agent}}
        if "rate" in values:
            event |= {"dose": float(values["rate"]), "dose_unit": values["rate__unit"]}
        stopped = values.get("stopped_at")
        if stopped is not None:
            if stopped < at:
                out.errors["stopped_at"] = _("must not be before the start")
                return
            event["end_at"] = stopped
        name = _(dict(PRESSORS)[agent])
        shown = _("{agent} (stopped)") if stopped else _("{agent} running")
        out.summary.append(shown.format(agent=name))
    elif form is OXYGEN:
        device = values["device"]
        flow = values.get("flow")
        if flow is not None and not 0 < float(flow) <= 100:
            out.errors["flow"] = _("expected a flow above 0 and at most 100 L/min")
            return
        if device == "none" and flow:
            out.errors["flow"] = _("no flow without a device (choose the device, or leave blank)")
            return
        details: dict[str, Any] = {"device": device}
        if flow is not None:
            details["flow_l_min"] = float(flow)
        event |= {"type": EventType.OXYGEN_SUPPORT, "details": details}
        word = term(device.replace("_", " "))
        shown = _("oxygen: {device}").format(device=word)
        out.summary.append(shown + (_(", {flow} L/min").format(flow=f"{flow:g}") if flow else ""))
    else:
        kind = values["kind"]
        grade = values.get("grade")
        if grade is not None and grade not in range(1, 6):
            out.errors["grade"] = _("expected a CTCAE grade from 1 to 5")
            return
        ctcae_term = values.get("term")
        if kind == "icu_transfer":
            event |= {"type": EventType.HOSPITALIZATION, "ctcae_term": "ICU transfer",
                      "details": {"unit": "icu"}}  # fmt: skip
        else:
            event |= {"type": EventType(kind), "ctcae_term": ctcae_term or None, "grade": grade}
        if ctcae_term and kind == "icu_transfer":
            event["details"] = event["details"] | {"note": ctcae_term}
        shown = _(dict(EVENT_KINDS)[kind])
        out.summary.append(shown + (_(", grade {n}").format(n=grade) if grade else ""))
    out.events.append(event)
