"""The cohort as REDCap flat records, and the import mapping that reads them back.

One row per record × event × repeat instance (REDCap's flat export layout): demographics and
treatment_course on the screening event; each observation instrument has one instance per
time and specimen; each event and assessment is one instance; facts are placed in the visit
whose window holds their site-local date. Numbers are written with Python's shortest
round-trip representation, so nothing is lost in the CSV. Times keep whole seconds.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from neurocart.frames import CohortFrames
from neurocart.ingest.codes import CATALOGUE, LOCAL, LOINC
from neurocart.interop.redcap import project as p
from neurocart.interop.sdtm.visits import VISITS, visit_of
from neurocart.studyday import local_date

OBS_NOT_IN_CATALOGUE = "observations.code: {code} is not in the catalogue"
LIST_INPUTS = "assessments.instrument: {name} has list inputs REDCap cannot hold"
EVENTS_SHAPE = "events: expected a table of {shape}"
EXPECTED_ONE_OF = "{path}: expected one of {choices}"
DAY_OR_MONTH = "{path}: give one number, day or month"
REQUIRED = "{path}: required"
EXPECTED_TYPE = "{path}: expected {kind}, got {value}"
FIELD_OR_TABLE = "{path}: expected a field name or {shape}, got {value}"
EXPECTED_TABLE = "{path}: expected a table"
ONLY_YEAR = '{path}: only "year" is known, got {value}'
MAPPING_REQUIRED = "mapping: the [mapping] table is required"
STUDY_ID_SHAPE = "mapping.study_id: expected {shape}"
NO_RETRACT = (
    'mapping.deletions: "retract" needs the ingest-key table that remembers which record each '
    'fact came from, which this version lacks; use "ignore"'
)
ONLY_IGNORE = 'mapping.deletions: expected "ignore", got {value}'
UNKNOWN_FIELD = "{path}: unknown; expected one of {choices}"
PROJECT_LENGTH = "mapping.project: expected 1–{n} characters, got {value}"
UNKNOWN_ZONE = "mapping.timezone: unknown IANA time zone {value}"
UNREADABLE = "{option}: cannot read {path}: {error}"
NOT_A_DICTIONARY = "--dictionary: {path} does not have REDCap's 18-column header"
NO_RECORD_COLUMN = "--records: {path} has no {column} column"
FIELDS_MISSING = "mapping names fields the data dictionary does not have: {fields}"
CANNOT_MAP = "{n} value(s) cannot be mapped; first: {finding}"
AT_VALUE = (
    "record {record}, event {event}, form #{instance}, field {field}: {finding} (got {value})"
)
AT_REPEAT_VALUE = (
    "record {record}, event {event}, {form} #{instance}, field {field}: {finding} (got {value})"
)
NOT_A_TIME = "expected a date or time YYYY-MM-DD[ HH:MM[:SS]]"
NOT_A_DATE = "expected a date YYYY-MM-DD"
NOT_A_NUMBER = "expected a number"
NOT_A_YEAR = "expected a year"
NOT_AN_OBJECT = "expected a JSON object"
UNKNOWN_CHOICE = "no mapping for choice code"
UNKNOWN_CHOICE_OF = "no mapping for choice code; known {known}"
UNKNOWN_CHECKBOX = "no mapping for checkbox code"
VALUE_WITHOUT_TIME = "a value needs its time"
ASSESSMENT_WITHOUT_TIME = "an assessment needs its time"
UNKNOWN_EVENT = "event {event}: not in the mapping's [events] ({n} instance(s))"
RECORD = "record {study_id}"
AT_RECORD = "record {study_id}, {what} at {at}"
TOTAL_DIFFERS = (
    "{where}: the REDCap total {total} differs from neurocart's score {score}; nothing imported"
)
REFUSED = "{where}: {error}; nothing imported"
MESSAGES = (
    OBS_NOT_IN_CATALOGUE, LIST_INPUTS, EVENTS_SHAPE, EXPECTED_ONE_OF, DAY_OR_MONTH, REQUIRED,
    EXPECTED_TYPE, FIELD_OR_TABLE, EXPECTED_TABLE, ONLY_YEAR, MAPPING_REQUIRED, STUDY_ID_SHAPE,
    NO_RETRACT, ONLY_IGNORE, UNKNOWN_FIELD, PROJECT_LENGTH, UNKNOWN_ZONE, UNREADABLE,
    NOT_A_DICTIONARY, NO_RECORD_COLUMN, FIELDS_MISSING, CANNOT_MAP, AT_VALUE, AT_REPEAT_VALUE,
    NOT_A_TIME, NOT_A_DATE, NOT_A_NUMBER, NOT_A_YEAR, NOT_AN_OBJECT, UNKNOWN_CHOICE,
    UNKNOWN_CHOICE_OF, UNKNOWN_CHECKBOX, VALUE_WITHOUT_TIME, ASSESSMENT_WITHOUT_TIME,
    UNKNOWN_EVENT, RECORD, AT_RECORD, TOTAL_DIFFERS, REFUSED,
)  # fmt: skip
"""REDCap's refusals (of a mapping, a dictionary, records, an import) and the import's
problems (`Problem`) as message keys with named fields (like
`neurocart.store.errors.MESSAGES`): the command line says them in its reader's language. A
`path` is the TOML key or file at fault, kept as it is; so are a problem's record, event,
form, instance, field, value and the choice codes it lists. A problem is the `finding` of
CANNOT_MAP, said by its own key."""


def _as_is(key: str) -> str:
    return key


@dataclass(frozen=True)
class Problem:
    """A value a mapping rule reads but cannot use, or an event the mapping does not know: a
    message key of `MESSAGES` with its named fields, and where in the records it is (a value's
    record, event, repeat form and instance, field and the value itself; none for an event).
    Kept structured so a face says it in its reader's language (`said`) while the core, the
    logs and `str(problem)` keep the English."""

    key: str
    params: Mapping[str, str]
    record: str | None = None
    """The REDCap record; None for a problem of the whole export (an unknown event)."""
    event: str = ""
    form: str = ""
    """The repeat instrument; empty for a record's non-repeating forms."""
    instance: str = ""
    field: str | None = None
    value: Any = None

    def said(self, say: Callable[[str], str] = _as_is) -> str:
        """The problem in the language of `say` (a face's `gettext`; default: the English
        keys themselves). An empty event is shown as "-", an empty instance as 1."""
        finding = say(self.key).format(**self.params)
        if self.record is None:
            return finding
        return say(AT_REPEAT_VALUE if self.form else AT_VALUE).format(
            record=self.record,
            event=self.event or "-",
            form=self.form,
            instance=self.instance or "1",
            field=self.field,
            finding=finding,
            value=repr(self.value),
        )

    def __str__(self) -> str:
        return self.said()


class RedcapError(ValueError):
    """REDCap input or output that cannot be used; the message names the field or file."""


def _v(x: Any) -> Any:
    if x is None or x is pd.NaT or x is pd.NA:
        return None
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, pd.Timestamp):
        return x.to_pydatetime()
    return x


def num(x: float) -> str:
    """A number as REDCap text: integers without a trailing .0, other values exactly."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def local(t: datetime | None, zone: ZoneInfo) -> str:
    """A time as REDCap's local date-time text in the project's zone; blank when missing."""
    return "" if t is None else t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON: {x!r}")


@dataclass(frozen=True)
class ProjectFiles:
    """The files a REDCap export wrote and how many records and patients they hold."""

    paths: list[Path]
    records: int
    patients: int


def _anchor_day(t: Any, zone: ZoneInfo) -> date | None:
    """An anchor instant as the date it names on the site's clock (a date anchor is stored as
    00:00 of its day there, which in a zone ahead of UTC is the evening before in UTC)."""
    v = _v(t)
    return None if v is None else local_date(v, zone)


class _Records:
    def __init__(self, frames: CohortFrames, zone: ZoneInfo) -> None:
        self.f = frames
        self.zone = zone
        self.rows: dict[tuple[str, str, str, int], dict[str, str]] = {}
        self.count: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.courses = {r["study_id"]: r for r in frames.courses.to_dict("records")}

    def visit(self, study_id: str, t: datetime) -> str:
        c = self.courses.get(study_id, {})
        return visit_of(
            local_date(t, self.zone),
            apheresis=_anchor_day(c.get("apheresis_at"), self.zone),
            ld_start=_anchor_day(c.get("ld_start_at"), self.zone),
            infusion=_anchor_day(c.get("infusion_at"), self.zone),
        ).event

    def new(self, record: str, event: str, form: str) -> dict[str, str]:
        self.count[record, event, form] += 1
        n = self.count[record, event, form]
        row = {
            "record_id": record,
            "redcap_event_name": event,
            "redcap_repeat_instrument": form,
            "redcap_repeat_instance": str(n),
            f"{form}_complete": "2",
        }
        self.rows[record, event, form, n] = row
        return row


def build_records(
    frames: CohortFrames, zone: ZoneInfo
) -> tuple[list[p.Field], list[dict[str, str]], list[str]]:
    """(dictionary fields, flat record rows, prior-therapy choices) for `frames`."""
    priors = sorted({t for ts in frames.patients["prior_therapies"] for t in (ts or [])})
    fields = p.fields(priors)
    r = _Records(frames, zone)
    screening = VISITS[0].event
    for pt in frames.patients.to_dict("records"):
        sid = str(pt["study_id"])
        row = {
            "record_id": sid,
            "redcap_event_name": screening,
            "redcap_repeat_instrument": "",
            "redcap_repeat_instance": "",
            "demographics_complete": "2",
            "site": str(pt["site"]),
            "sex": str(p.SEXES.index(pt["sex"])),
            "birth_year": "" if _v(pt["birth_year"]) is None else str(int(pt["birth_year"])),
            "diagnosis": str(p.DIAGNOSES.index(pt["diagnosis"])),
            "subtype": _v(pt["subtype"]) or "",
            "diagnosis_date": ""
            if _v(pt["diagnosis_date"]) is None
            else pt["diagnosis_date"].isoformat(),
        }
        for i, t in enumerate(priors, start=1):
            row[f"prior_tx___{i}"] = "1" if t in (pt["prior_therapies"] or []) else "0"
        c = r.courses.get(sid)
        if c is not None:
            row |= {
                "treatment_course_complete": "2",
                "product": str(c["product"]),
                "target": _v(c["target"]) or "",
                "dose_cells_per_kg": ""
                if _v(c["dose_cells_per_kg"]) is None
                else num(c["dose_cells_per_kg"]),
                "ld_regimen": _v(c["ld_regimen"]) or "",
                "protocol_id": _v(c["protocol_id"]) or "",
                "enrolment_date": _date(c["enrolment_at"], zone),
                "apheresis_date": _date(c["apheresis_at"], zone),
                "ld_start_date": _date(c["ld_start_at"], zone),
                "infusion_dt": local(_v(c["infusion_at"]), zone),
            }
        r.rows[sid, screening, "", 0] = row
    # observations: one instance per (patient, form, time, specimen), a code at most once
    panels: dict[tuple[str, str, Any, str], list[dict[str, str]]] = {}
    for o in frames.observations.to_dict("records"):
        entry = CATALOGUE.get((LOCAL if o["code"].startswith("local:") else LOINC, o["code"]))
        if entry is None:
            raise RedcapError(OBS_NOT_IN_CATALOGUE.format(code=o["code"]))
        form = p.obs_form(entry)
        t = _v(o["effective_at"])
        key = (str(o["study_id"]), form, t, str(o["specimen"]))
        rows = panels.setdefault(key, [])
        field = p.short(entry.key)
        target = next((x for x in rows if field not in x), None)
        if target is None:
            target = r.new(key[0], r.visit(key[0], t), form)
            target |= {
                f"{form}_dt": local(t, zone),
                f"{form}_specimen": str(p.SPECIMENS.index(key[3])),
            }
            rows.append(target)
        target[field] = num(o["value"])
    for a in frames.assessments.to_dict("records"):
        name = str(a["instrument"])
        if p.calculator_fields(name) is None:
            raise RedcapError(LIST_INPUTS.format(name=name))
        t = _v(a["effective_at"])
        row = r.new(str(a["study_id"]), r.visit(str(a["study_id"]), t), name)
        row[p.short(f"{name}_dt")] = local(t, zone)
        flat = _flatten(a["inputs"] or {})
        for spec in p.calculator_fields(name) or []:
            v = flat.get(spec.name)
            if v is None:
                continue
            fname = p.short(f"{name}_{spec.name}")
            if spec.kind == "enum":
                row[fname] = str([str(c) for c in spec.choices].index(str(v)))
            elif spec.kind == "bool":
                row[fname] = "1" if v else "0"
            else:
                row[fname] = num(v)
        row[p.short(f"{name}_score")] = num(a["value"])
    for e in frames.events.to_dict("records"):
        kind = str(e["type"])
        form, prefix = (
            ("adverse_event", "ae")
            if kind in p.AE_TYPES
            else ("drug_given", "dg")
            if kind == "drug_given"
            else ("clinical_event", "ev")
        )
        t = _v(e["onset_at"])
        row = r.new(str(e["study_id"]), r.visit(str(e["study_id"]), t), form)
        details = dict(e["details"]) if isinstance(e["details"], Mapping) else {}
        dose = details.pop("dose", None)
        unit = details.pop("unit", None) if dose is not None else None
        if form != "drug_given":
            choices = p.AE_TYPES if form == "adverse_event" else p.OTHER_EVENTS
            row[f"{prefix}_type"] = str(choices.index(kind))
        grade = _v(e["grade"])
        values = {
            "term": _v(e["term"]) or "",
            "grade": "" if grade is None else str(int(grade)),
            "drug": _v(e["drug"]) or "",
            "dose": "" if dose is None else num(dose),
            "dose_unit": unit or "",
            "onset": local(t, zone),
            "end": local(_v(e["end_at"]), zone),
            "details": json.dumps(details, sort_keys=True, default=_json_default)
            if details
            else "",
        }
        row |= {f"{prefix}_{k}": v for k, v in values.items()}
    ordered = sorted(
        r.rows.items(),
        key=lambda kv: (kv[0][0], _event_order(kv[0][1]), kv[0][2], kv[0][3]),
    )
    return fields, [row for _, row in ordered], priors


def _event_order(event: str) -> int:
    return next(v.num for v in VISITS if v.event == event)


def _date(t: Any, zone: ZoneInfo) -> str:
    day = _anchor_day(t, zone)
    return "" if day is None else day.isoformat()


def _flatten(inputs: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in inputs.items():
        if isinstance(v, Mapping):
            out |= _flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v.item() if hasattr(v, "item") else v
    return out


def columns(fields: list[p.Field]) -> list[str]:
    """The flat export's columns: ids, the fields (checkboxes expanded), `<form>_complete`."""
    out = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for form in p.forms(fields):
        for f in fields:
            if f.form != form or f.name == "record_id":
                continue
            if f.type == "checkbox":
                out += [f"{f.name}___{c}" for c, _ in f.choices]
            else:
                out.append(f.name)
        out.append(f"{form}_complete")
    return out


def write_csv(path: Path, header: list[str], rows: list[dict[str, Any]] | list[list[str]]) -> None:
    """Write rows (dicts by header name or plain lists) as a UTF-8 CSV with a header line."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([row.get(h, "") for h in header] if isinstance(row, dict) else row)
