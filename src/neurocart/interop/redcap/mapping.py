"""The import mapping (`<center>.redcap.toml`): how a REDCap project's fields become facts.

    [mapping]   project, timezone, study_id = { from = "record_id", prefix = "SA-" },
                site = "SITE_A" (or [patient] site = { field = ... }), deletions = "ignore"
    [events]    unique_event_name = { anchor = "infusion", day = 0 }   (or month = 3)
    [patient]   sex / diagnosis = { field, choices }, birth_year = { field, take = "year" },
                subtype, diagnosis_date, site = { field }, prior_therapies = { checkbox, choices }
    [course]    product, target, dose_cells_per_kg, lymphodepletion, protocol_id, enrolment_date,
                apheresis_date, ld_start_date, infusion_at = "<field>"
    [[observation]]  field, code, unit, specimen = "serum" | { field, choices }, time = { field }
    [[assessment]]   instrument, time = { field }, inputs = { <input> = "<field>" },
                     choices = { <input> = { "<code>" = <value> } }, check_total = "<field>"
    [[event]]        form, type = "crs" | { field, choices },
                     fields = { onset, end, term, grade, drug, dose, dose_unit, details }

Every field a mapping names must exist in the project's data dictionary: `check` reports the
ones that do not before any record is read.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from neurocart.interop.redcap import project as p
from neurocart.interop.redcap import records as r
from neurocart.interop.redcap.records import RedcapError

MAX_PROJECT = 57
"""An observation's source is "redcap:<project>", at most 64 characters."""

COURSE_FIELDS = (
    "product",
    "target",
    "dose_cells_per_kg",
    "lymphodepletion",
    "protocol_id",
    "enrolment_date",
    "apheresis_date",
    "ld_start_date",
    "infusion_at",
)


@dataclass(frozen=True)
class Choice:
    """A mapping value read from a REDCap field, translated through its choice codes."""

    field: str
    choices: dict[str, Any] = dataclasses.field(default_factory=dict)
    take: str | None = None
    """``take = "year"``: keep only the year of a date (a date of birth is never stored)."""


@dataclass(frozen=True)
class ObservationRule:
    """How one REDCap field becomes an observation: its code, unit, specimen and time field."""

    field: str
    code: str
    unit: str
    specimen: str | Choice
    time: str


@dataclass(frozen=True)
class AssessmentRule:
    """How a REDCap instrument becomes a scored assessment: the calculator inputs and the total to
    check against.
    """

    instrument: str
    time: str
    inputs: dict[str, str]
    choices: dict[str, dict[str, Any]]
    check_total: str | None


@dataclass(frozen=True)
class EventRule:
    """How a REDCap form becomes a clinical event: its type and the fields it fills."""

    form: str
    type: str | Choice
    fields: dict[str, str]


@dataclass(frozen=True)
class Mapping:
    """A parsed REDCap mapping file: how one project's records become patients, observations,
    assessments and events.
    """

    project: str
    timezone: str
    record_field: str
    prefix: str
    site: str | Choice
    deletions: str
    events: dict[str, dict[str, Any]]
    patient: dict[str, Choice]
    prior_therapies: Choice | None
    course: dict[str, str]
    observations: list[ObservationRule]
    assessments: list[AssessmentRule]
    event_rules: list[EventRule]

    def fields(self) -> dict[str, str]:
        """Every dictionary field the mapping reads → where (for messages)."""
        out = {self.record_field: "mapping.study_id"}
        if isinstance(self.site, Choice):
            out[self.site.field] = "patient.site"
        for k, c in self.patient.items():
            out[c.field] = f"patient.{k}"
        if self.prior_therapies:
            out[self.prior_therapies.field] = "patient.prior_therapies"
        for k, f in self.course.items():
            out[f] = f"course.{k}"
        for i, o in enumerate(self.observations):
            out[o.field] = f"observation[{i}].field"
            out.setdefault(o.time, f"observation[{i}].time")
            if isinstance(o.specimen, Choice):
                out.setdefault(o.specimen.field, f"observation[{i}].specimen")
        for i, a in enumerate(self.assessments):
            out.setdefault(a.time, f"assessment[{i}].time")
            for k, f in a.inputs.items():
                out[f] = f"assessment[{i}].inputs.{k}"
            if a.check_total:
                out[a.check_total] = f"assessment[{i}].check_total"
        for i, e in enumerate(self.event_rules):
            if isinstance(e.type, Choice):
                out[e.type.field] = f"event[{i}].type"
            for k, f in e.fields.items():
                out[f] = f"event[{i}].fields.{k}"
        return out


ANCHORS = ("enrolment", "apheresis", "ld_start", "infusion")


def _events(table: Any) -> dict[str, dict[str, Any]]:
    """[events]: unique event name → { anchor, day | month } (checked, not guessed)."""
    if not isinstance(table, dict):
        raise RedcapError(r.EVENTS_SHAPE.format(shape="unique_event_name = { anchor, day }"))
    for name, e in table.items():
        where = f"events.{name}"
        if not isinstance(e, dict) or e.get("anchor") not in ANCHORS:
            raise RedcapError(
                r.EXPECTED_ONE_OF.format(path=f"{where}.anchor", choices=", ".join(ANCHORS))
            )
        offsets = [k for k in ("day", "month") if k in e]
        if len(offsets) > 1 or any(not isinstance(e[k], int | float) for k in offsets):
            raise RedcapError(r.DAY_OR_MONTH.format(path=where))
    return dict(table)


def _need(table: dict[str, Any], key: str, where: str, kind: type = str) -> Any:
    if key not in table:
        raise RedcapError(r.REQUIRED.format(path=f"{where}.{key}"))
    if not isinstance(table[key], kind):
        raise RedcapError(
            r.EXPECTED_TYPE.format(
                path=f"{where}.{key}", kind=kind.__name__, value=repr(table[key])
            )
        )
    return table[key]


def _choice(x: Any, where: str) -> Choice:
    if isinstance(x, str):
        return Choice(x)
    if not isinstance(x, dict):
        raise RedcapError(
            r.FIELD_OR_TABLE.format(path=where, shape="{ field, choices }", value=repr(x))
        )
    name = x.get("field") or x.get("checkbox")
    if not isinstance(name, str):
        raise RedcapError(r.REQUIRED.format(path=f"{where}.field"))
    choices = x.get("choices", {})
    if not isinstance(choices, dict):
        raise RedcapError(r.EXPECTED_TABLE.format(path=f"{where}.choices"))
    take = x.get("take")
    if take not in (None, "year"):
        raise RedcapError(r.ONLY_YEAR.format(path=f"{where}.take", value=repr(take)))
    return Choice(name, {str(k): v for k, v in choices.items()}, take)


def _field(x: Any, where: str) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, dict) and isinstance(x.get("field"), str):
        return str(x["field"])
    raise RedcapError(r.FIELD_OR_TABLE.format(path=where, shape="{ field = ... }", value=repr(x)))


def parse(doc: dict[str, Any]) -> Mapping:
    """The mapping from a parsed TOML document; RedcapError names the bad key."""
    m = doc.get("mapping")
    if not isinstance(m, dict):
        raise RedcapError(r.MAPPING_REQUIRED)
    sid = m.get("study_id", {"from": "record_id"})
    if not isinstance(sid, dict) or not isinstance(sid.get("from"), str):
        raise RedcapError(r.STUDY_ID_SHAPE.format(shape='{ from = "record_id", prefix = "" }'))
    deletions = m.get("deletions", "ignore")
    if deletions == "retract":
        raise RedcapError(r.NO_RETRACT)
    if deletions != "ignore":
        raise RedcapError(r.ONLY_IGNORE.format(value=repr(deletions)))
    patient_t = doc.get("patient", {})
    site: str | Choice
    if "site" in patient_t:
        site = _choice(patient_t["site"], "patient.site")
    else:
        site = _need(m, "site", "mapping")
    patient = {
        k: _choice(patient_t[k], f"patient.{k}")
        for k in ("sex", "diagnosis", "birth_year", "subtype", "diagnosis_date")
        if k in patient_t
    }
    for k in ("sex", "diagnosis"):
        if k not in patient:
            raise RedcapError(r.REQUIRED.format(path=f"patient.{k}"))
    prior = patient_t.get("prior_therapies")
    course_t = doc.get("course", {})
    unknown = set(course_t) - set(COURSE_FIELDS)
    if unknown:
        raise RedcapError(
            r.UNKNOWN_FIELD.format(
                path=f"course.{sorted(unknown)[0]}", choices=", ".join(COURSE_FIELDS)
            )
        )
    obs = []
    for i, o in enumerate(doc.get("observation", [])):
        w = f"observation[{i}]"
        spec = o.get("specimen")
        obs.append(
            ObservationRule(
                _need(o, "field", w),
                _need(o, "code", w),
                _need(o, "unit", w),
                spec if isinstance(spec, str) else _choice(spec, f"{w}.specimen"),
                _field(o.get("time"), f"{w}.time"),
            )
        )
    asm = []
    for i, a in enumerate(doc.get("assessment", [])):
        w = f"assessment[{i}]"
        asm.append(
            AssessmentRule(
                _need(a, "instrument", w),
                _field(a.get("time"), f"{w}.time"),
                dict(_need(a, "inputs", w, dict)),
                {k: {str(c): v for c, v in t.items()} for k, t in a.get("choices", {}).items()},
                a.get("check_total"),
            )
        )
    evs = []
    for i, e in enumerate(doc.get("event", [])):
        w = f"event[{i}]"
        t = e.get("type")
        fields = dict(_need(e, "fields", w, dict))
        if "onset" not in fields:
            raise RedcapError(r.REQUIRED.format(path=f"{w}.fields.onset"))
        evs.append(
            EventRule(
                _need(e, "form", w), t if isinstance(t, str) else _choice(t, f"{w}.type"), fields
            )
        )
    project = m.get("project", "redcap")
    if not isinstance(project, str) or not 0 < len(project) <= MAX_PROJECT:
        raise RedcapError(r.PROJECT_LENGTH.format(n=MAX_PROJECT, value=repr(project)))
    try:
        ZoneInfo(str(m.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise RedcapError(r.UNKNOWN_ZONE.format(value=repr(m.get("timezone")))) from None
    return Mapping(
        project=project,
        timezone=str(m.get("timezone", "UTC")),
        record_field=sid["from"],
        prefix=str(sid.get("prefix", "")),
        site=site,
        deletions=deletions,
        events=_events(doc.get("events", {})),
        patient=patient,
        prior_therapies=None if prior is None else _choice(prior, "patient.prior_therapies"),
        course={k: _field(v, f"course.{k}") for k, v in course_t.items()},
        observations=obs,
        assessments=asm,
        event_rules=evs,
    )


def load(path: Path) -> Mapping:
    """Read and parse a REDCap mapping TOML file, raising RedcapError for a file that cannot be
    read.
    """
    try:
        with path.open("rb") as fh:
            return parse(tomllib.load(fh))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RedcapError(r.UNREADABLE.format(option="--mapping", path=path, error=exc)) from None


# --- emitting the mapping of neurocart's own project -----------------------------------------


def _q(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int | float):
        return json.dumps(x)
    return json.dumps(str(x), ensure_ascii=False)


def _inline(d: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{_q(k)} = {_val(v)}" for k, v in d.items()) + " }"


def _val(v: Any) -> str:
    return _inline(v) if isinstance(v, dict) else _q(v)


def _choice_table(name: str, choices: Any) -> str:
    return _inline({"field": name, "choices": choices(name)})


def emit(fields: list[p.Field], *, project: str, timezone: str) -> str:
    """The mapping that reads neurocart's own export back: the dictionary's exact inverse."""
    by = {f.name: f for f in fields}

    def choices(name: str) -> dict[str, str]:
        return dict(by[name].choices)

    lines = [
        "# neurocart's REDCap project read back into neurocart (written by `export redcap`).",
        "[mapping]",
        f"project = {_q(project)}",
        f"timezone = {_q(timezone)}",
        'study_id = { from = "record_id", prefix = "" }',
        'deletions = "ignore"',
        "",
        "[events]",
    ]
    from neurocart.interop.sdtm.visits import VISITS

    for v in VISITS:
        anchor = {
            "SCREENING": "enrolment",
            "APHERESIS": "apheresis",
            "LYMPHODEPLETION": "ld_start",
        }.get(v.name, "infusion")
        lines.append(f"{v.event} = {_inline({'anchor': anchor, 'day': v.cart_day or 0})}")
    lines += [
        "",
        "[patient]",
        'site = { field = "site" }',
        f"sex = {_inline({'field': 'sex', 'choices': choices('sex')})}",
        'birth_year = { field = "birth_year" }',
        f"diagnosis = {_inline({'field': 'diagnosis', 'choices': choices('diagnosis')})}",
        'subtype = { field = "subtype" }',
        'diagnosis_date = { field = "diagnosis_date" }',
        f"prior_therapies = {_inline({'checkbox': 'prior_tx', 'choices': choices('prior_tx')})}",
        "",
        "[course]",
    ]
    for k in COURSE_FIELDS:
        name = {"infusion_at": "infusion_dt", "lymphodepletion": "ld_regimen"}.get(k, k)
        lines.append(f"{k} = {_q(name)}")
    from neurocart.ingest.codes import codes

    for entry in codes():
        form = p.obs_form(entry)
        lines += [
            "",
            "[[observation]]",
            f"field = {_q(p.short(entry.key))}",
            f"code = {_q(entry.code)}",
            f"unit = {_q(entry.unit)}",
            f"specimen = {_choice_table(f'{form}_specimen', choices)}",
            f"time = {_inline({'field': f'{form}_dt'})}",
        ]
    for name in p.instruments():
        specs = p.calculator_fields(name) or []
        inputs = {s.name: p.short(f"{name}_{s.name}") for s in specs}
        enum_choices = {
            s.name: {str(i): c for i, c in enumerate(s.choices)} for s in specs if s.kind == "enum"
        }
        lines += [
            "",
            "[[assessment]]",
            f"instrument = {_q(name)}",
            f"time = {_inline({'field': p.short(f'{name}_dt')})}",
            f"inputs = {_inline(inputs)}",
        ]
        if enum_choices:
            lines.append(f"choices = {_inline(enum_choices)}")
        lines.append(f"check_total = {_q(p.short(f'{name}_score'))}")
    for form, prefix, types in (
        ("adverse_event", "ae", p.AE_TYPES),
        ("drug_given", "dg", None),
        ("clinical_event", "ev", p.OTHER_EVENTS),
    ):
        lines += ["", "[[event]]", f"form = {_q(form)}"]
        if types is None:
            lines.append('type = "drug_given"')
        else:
            lines.append(f"type = {_choice_table(f'{prefix}_type', choices)}")
        lines.append(f"fields = {_inline({k: f'{prefix}_{k}' for k in p.EVENT_PARTS})}")
    return "\n".join(lines) + "\n"
