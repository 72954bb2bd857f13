"""The REDCap project neurocart emits: instruments, fields, events and their mappings.

The data dictionary has REDCap's 18 columns, in REDCap's order and spelling (the header a
REDCap "Data Dictionary" upload expects). Field names are lower case, at most 26 characters.
Times are `datetime_seconds_ymd` in site-local time; course anchor dates are `date_ymd`;
numbers carry the catalogue's possible range as validation min/max and the unit in the field
note; enumerations are radios coded 0..n; scores are `@READONLY`: neurocart computes them.

Instruments: demographics and treatment_course (screening event); repeating vitals, labs, csf
and cart_kinetics (one instance per time and specimen), adverse_event, drug_given and
clinical_event; one repeating instrument per calculator whose inputs are scalars.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from neurocart.ingest.codes import CATALOGUE, RESULT_UNIT, ObservationCode, Specimen, codes
from neurocart.interop.sdtm.visits import VISITS
from neurocart.standards import REGISTRY
from neurocart.standards.fields import FieldSpec, walk_fields
from neurocart.store.models import Diagnosis, EventType, Sex

HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
MAX_NAME = 26
DATETIME = "datetime_seconds_ymd"

SEXES = [s.value for s in Sex]
DIAGNOSES = [d.value for d in Diagnosis]
SPECIMENS = [s.value for s in Specimen]
AE_TYPES = ["crs", "icans", "infection", "adverse_event", "seizure"]
OTHER_EVENTS = [t.value for t in EventType if t.value not in {*AE_TYPES, "drug_given"}]
EVENT_PARTS = ("term", "grade", "drug", "dose", "dose_unit", "onset", "end", "details")


@dataclass
class Field:
    """One row of a REDCap data dictionary the generated project declares."""

    name: str
    form: str
    type: str
    label: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    validation: str = ""
    vmin: str = ""
    vmax: str = ""
    annotation: str = ""

    def row(self) -> list[str]:
        choices = " | ".join(f"{c}, {label}" for c, label in self.choices)
        return [
            self.name,
            self.form,
            "",
            self.type,
            self.label,
            choices,
            self.note,
            self.validation,
            self.vmin,
            self.vmax,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            self.annotation,
        ]


def short(name: str) -> str:
    """A REDCap field name ≤ 26 characters: as is when it fits, else cut with a hash suffix."""
    name = name.lower().replace(".", "_")
    if len(name) <= MAX_NAME:
        return name
    return f"{name[:21]}_{hashlib.sha1(name.encode()).hexdigest()[:4]}"


def _radio(values: list[str]) -> list[tuple[str, str]]:
    return [(str(i), v) for i, v in enumerate(values)]


QUALITATIVE = {0.0: "negative", 1.0: "positive"}
CODED_LABELS: dict[str, dict[float, str]] = {
    "ocb_pattern": {
        1.0: "type 1: no CSF-restricted bands (negative)",
        2.0: "type 2: CSF-restricted bands (positive)",
        3.0: "type 3: CSF-restricted plus identical bands (positive)",
        4.0: "type 4: identical bands only (mirror, systemic)",
        5.0: "type 5: monoclonal bands",
    },
    "reibergram_igg": {
        1.0: "1: normal",
        2.0: "2: isolated barrier dysfunction",
        3.0: "3: intrathecal IgG synthesis",
        4.0: "4: barrier dysfunction and intrathecal synthesis",
        5.0: "5: below the lower hyperbola (implausible)",
    },
}
"""Choice labels of the coded results (the `ocb_pattern` and `reibergram_igg` calculators'
readings); another coded result is labelled with its number."""


def result_choices(entry: ObservationCode) -> list[tuple[str, str]]:
    """The radio choices of a result with listed values: a qualitative result's 0 negative /
    1 positive, and a coded result's own values (an OCB pattern type 1–5), coded as the value
    the record export writes, so a choice reads back as the stored number."""
    if entry.unit == RESULT_UNIT:
        return [(_number(v), QUALITATIVE.get(v, _number(v))) for v in entry.values]
    labels = CODED_LABELS.get(entry.key, {})
    return [(_number(v), labels.get(v, _number(v))) for v in entry.values]


OBS_FORMS = ("vitals", "labs", "csf", "cart_kinetics")


def obs_form(entry: ObservationCode) -> str:
    """Which observation instrument a catalogue code belongs to."""
    if entry.key.startswith("cart_"):
        return "cart_kinetics"
    if entry.specimens == (Specimen.OTHER,) and entry.unit != "{result}":
        return "vitals"
    if entry.specimens == (Specimen.CSF,):
        return "csf"
    return "labs"


def _number(x: float) -> str:
    return format(x, "g") if abs(x) < 1e15 else format(x, ".0f")


def calculator_fields(instrument: str) -> list[FieldSpec] | None:
    """The scalar input fields of a calculator (nested objects flattened), None if it has lists."""
    specs = walk_fields(REGISTRY[instrument].fields)
    if any(s.kind == "list" for s in specs):
        return None
    return [s for s in specs if s.kind != "object"]


def instruments() -> list[str]:
    """The calculators whose inputs can be laid out as REDCap fields, so each can become an
    instrument.
    """
    return [name for name in sorted(REGISTRY) if calculator_fields(name) is not None]


def choice_values(spec: FieldSpec) -> list[Any]:
    """The codes a calculator field accepts, in order, for its REDCap choice list."""
    return list(spec.choices)


def fields(prior_therapies: list[str]) -> list[Field]:
    """Every field of the project, in form order."""
    f: list[Field] = [
        Field("record_id", "demographics", "text", "Study ID"),
        Field("site", "demographics", "text", "Site"),
        Field("sex", "demographics", "radio", "Sex", _radio(SEXES)),
        Field(
            "birth_year",
            "demographics",
            "text",
            "Year of birth",
            validation="integer",
            vmin="1900",
            vmax="2100",
        ),
        Field("diagnosis", "demographics", "radio", "Diagnosis", _radio(DIAGNOSES)),
        Field("subtype", "demographics", "text", "Subtype"),
        Field("diagnosis_date", "demographics", "text", "Date of diagnosis", validation="date_ymd"),
        Field(
            "prior_tx",
            "demographics",
            "checkbox",
            "Prior therapies",
            [(str(i), t) for i, t in enumerate(prior_therapies, start=1)],
        ),
        Field("product", "treatment_course", "text", "CAR-T product"),
        Field("target", "treatment_course", "text", "Target antigen"),
        Field(
            "dose_cells_per_kg",
            "treatment_course",
            "text",
            "Dose",
            note="cells/kg",
            validation="number",
        ),
        Field("ld_regimen", "treatment_course", "text", "Lymphodepletion regimen"),
        Field("protocol_id", "treatment_course", "text", "Care-pathway protocol"),
        Field("enrolment_date", "treatment_course", "text", "Enrolment", validation="date_ymd"),
        Field("apheresis_date", "treatment_course", "text", "Apheresis", validation="date_ymd"),
        Field(
            "ld_start_date",
            "treatment_course",
            "text",
            "First day of lymphodepletion",
            validation="date_ymd",
        ),
        Field(
            "infusion_dt",
            "treatment_course",
            "text",
            "CAR-T infusion",
            validation=DATETIME,
            note="site-local time",
        ),
    ]
    for form in OBS_FORMS:
        f.append(
            Field(
                f"{form}_dt",
                form,
                "text",
                "Time of sample or measurement",
                validation=DATETIME,
                note="site-local time",
            )
        )
        f.append(Field(f"{form}_specimen", form, "radio", "Specimen", _radio(SPECIMENS)))
        for entry in codes():
            if obs_form(entry) != form:
                continue
            if entry.values:
                f.append(
                    Field(
                        short(entry.key),
                        form,
                        "radio",
                        entry.display,
                        result_choices(entry),
                        annotation=f"code={entry.code}",
                    )
                )
            else:
                f.append(
                    Field(
                        short(entry.key),
                        form,
                        "text",
                        entry.display,
                        note=entry.unit,
                        validation="number",
                        vmin=_number(entry.low),
                        vmax=_number(entry.high),
                        annotation=f"code={entry.code}",
                    )
                )
    for form, prefix, types in (
        ("adverse_event", "ae", AE_TYPES),
        ("drug_given", "dg", None),
        ("clinical_event", "ev", OTHER_EVENTS),
    ):
        if types is not None:
            f.append(Field(f"{prefix}_type", form, "radio", "Event type", _radio(types)))
        f += [
            Field(f"{prefix}_term", form, "text", "Term"),
            Field(
                f"{prefix}_grade", form, "radio", "Grade", [(str(g), str(g)) for g in range(1, 6)]
            ),
            Field(f"{prefix}_drug", form, "text", "Drug"),
            Field(f"{prefix}_dose", form, "text", "Dose", validation="number"),
            Field(f"{prefix}_dose_unit", form, "text", "Dose unit"),
            Field(f"{prefix}_onset", form, "text", "Onset / start", validation=DATETIME),
            Field(f"{prefix}_end", form, "text", "End", validation=DATETIME),
            Field(f"{prefix}_details", form, "notes", "Further details (JSON object)"),
        ]
    for name in instruments():
        f.append(
            Field(short(f"{name}_dt"), name, "text", "Time of assessment", validation=DATETIME)
        )
        for spec in calculator_fields(name) or []:
            fname = short(f"{name}_{spec.name}")
            label = spec.description or spec.name
            if spec.kind == "enum":
                f.append(Field(fname, name, "radio", label, _radio([str(c) for c in spec.choices])))
            elif spec.kind == "bool":
                f.append(Field(fname, name, "yesno", label))
            else:
                lo = spec.ge if spec.ge is not None else spec.gt
                hi = spec.le if spec.le is not None else spec.lt
                f.append(
                    Field(
                        fname,
                        name,
                        "text",
                        label,
                        note=spec.unit or "",
                        validation="integer" if spec.kind == "int" else "number",
                        vmin="" if lo is None else _number(lo),
                        vmax="" if hi is None else _number(hi),
                    )
                )
        f.append(
            Field(
                short(f"{name}_score"),
                name,
                "text",
                f"{REGISTRY[name].title} (neurocart)",
                validation="number",
                annotation="@READONLY",
            )
        )
    return f


def forms(all_fields: list[Field]) -> list[str]:
    """The forms the fields belong to, once each, in data-dictionary order."""
    out: list[str] = []
    for x in all_fields:
        if x.form not in out:
            out.append(x.form)
    return out


REPEATING_EXCLUDED = ("demographics", "treatment_course")


def repeating_forms(all_fields: list[Field]) -> list[str]:
    """The forms REDCap should repeat within an event (all but the one-off forms)."""
    return [f for f in forms(all_fields) if f not in REPEATING_EXCLUDED]


def events() -> list[dict[str, Any]]:
    """REDCap events (arm 1) for the care pathway's visits."""
    return [
        {
            "event_name": v.label,
            "arm_num": 1,
            "unique_event_name": v.event,
            "day_offset": "" if v.cart_day is None else v.cart_day,
        }
        for v in VISITS
    ]


def instrument_event_mapping(all_fields: list[Field]) -> list[dict[str, Any]]:
    """Which forms each visit event collects; the one-off forms only at the first visit."""
    out = []
    for v in VISITS:
        for form in forms(all_fields):
            if form in REPEATING_EXCLUDED and v.event != VISITS[0].event:
                continue
            out.append({"arm_num": 1, "unique_event_name": v.event, "form": form})
    return out


def known_code(code: str) -> bool:
    """Whether the code is one of the observation catalogue's codes."""
    return any(code == c for _, c in CATALOGUE)
