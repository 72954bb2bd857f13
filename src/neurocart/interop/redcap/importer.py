"""REDCap records → neurocart facts, through the same services as every other face.

    plan = read_project(dictionary_csv, records_csv, mapping)      # nothing written
    result = apply(database, actor, plan, dry_run=True)             # validated, rolled back

Records may be REDCap's flat export (one row per record × event × repeat instance, checkbox
columns ``field___code``) or its EAV export (``record, field_name, value`` with the event and
repeat columns, one row per checked option). Every value is taken only through a mapping
rule; a field with data and no rule is *reported*, never guessed. Patients and courses go
through `repo.create_patient` / `repo.create_course`, observations through
`services.ingest.ingest_observations` (codes, units and plausibility checked as for any feed),
assessments through `services.assessments.add_assessment` (the calculator scores the
inputs; a REDCap total that differs is refused) and events through `repo.add_event`, all
audited as the importing
user, in one transaction: one bad value and nothing is stored. A dry run performs exactly the
same writes and rolls them back.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from neurocart.ingest import LOCAL, LOINC, ObservationIn
from neurocart.interop.redcap import project as proj
from neurocart.interop.redcap import records as msg
from neurocart.interop.redcap.mapping import Choice, Mapping
from neurocart.interop.redcap.records import Problem, RedcapError
from neurocart.services.assessments import add_assessment
from neurocart.services.errors import ServiceError
from neurocart.services.ingest import ingest_observations
from neurocart.standards.errors import CalculatorInputError
from neurocart.store import Database, repo
from neurocart.store.errors import StoreError
from neurocart.store.models import User

IDS = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
Key = tuple[str, str, str, str]
"""(record, event, repeat instrument, repeat instance): one REDCap instance."""


@dataclass
class Plan:
    """What an import would store, per patient, and what it cannot map."""

    patients: list[dict[str, Any]] = field(default_factory=list)
    unmapped: Counter[str] = field(default_factory=Counter)
    """Field → number of values that no mapping rule reads (reported, never guessed)."""
    problems: list[Problem] = field(default_factory=list)
    """Values a rule reads but cannot use (bad choice code, number, date) and events the
    mapping does not know: nothing imported. `str(problem)` is the English; a face says it in
    its reader's language (`Problem.said`)."""

    def counts(self) -> dict[str, int]:
        c = Counter({"patients": len(self.patients)})
        for pt in self.patients:
            c["courses"] += 1 if pt["course"] else 0
            for k in ("observations", "assessments", "events"):
                c[k] += len(pt[k])
        return dict(c)


def read_dictionary(path: Path) -> dict[str, dict[str, str]]:
    """Field name → its dictionary row (keys: REDCap's snake_case API names)."""
    api = [
        "field_name",
        "form_name",
        "section_header",
        "field_type",
        "field_label",
        "select_choices_or_calculations",
        "field_note",
        "text_validation_type_or_show_slider_number",
        "text_validation_min",
        "text_validation_max",
        "identifier",
        "branching_logic",
        "required_field",
        "custom_alignment",
        "question_number",
        "matrix_group_name",
        "matrix_ranking",
        "field_annotation",
    ]
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise RedcapError(
            msg.UNREADABLE.format(option="--dictionary", path=path, error=exc)
        ) from None
    if not rows or (rows[0] != proj.HEADER and rows[0] != api):
        raise RedcapError(msg.NOT_A_DICTIONARY.format(path=path))
    return {r[0]: dict(zip(api, r, strict=False)) for r in rows[1:] if r and r[0]}


def read_cells(path: Path, dictionary: MappingABC[str, Any]) -> dict[Key, dict[str, list[str]]]:
    """The records, flat or EAV, as instance → field → values (a checkbox: the checked codes)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise RedcapError(msg.UNREADABLE.format(option="--records", path=path, error=exc)) from None
    out: dict[Key, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if not rows:
        return out
    first = rows[0]
    eav = "field_name" in first and "value" in first
    record_col = "record" if eav and "record" in first else "record_id"
    if record_col not in first:
        raise RedcapError(msg.NO_RECORD_COLUMN.format(path=path, column=record_col))
    for row in rows:
        key = (
            row[record_col],
            row.get("redcap_event_name", "") or "",
            row.get("redcap_repeat_instrument", "") or "",
            row.get("redcap_repeat_instance", "") or "",
        )
        if eav:
            if row["value"] != "":
                out[key][row["field_name"]].append(row["value"])
            continue
        for col, value in row.items():
            if col in IDS or value in ("", None) or col.endswith("_complete"):
                continue
            if "___" in col and col.split("___")[0] in dictionary:
                name, code = col.split("___", 1)
                if value == "1":
                    out[key][name].append(code)
                continue
            out[key][col].append(value)
    return out


class _Reader:
    def __init__(self, mapping: Mapping, dictionary: MappingABC[str, dict[str, str]]) -> None:
        self.m = mapping
        self.zone = ZoneInfo(mapping.timezone)
        self.plan = Plan()
        self.used: set[str] = set()
        self.dictionary = dictionary

    def problem(self, key: Key, name: str, message: str, value: Any, **params: str) -> None:
        """Report a value of instance `key`, field `name`: `message` (a key of
        `records.MESSAGES`) with its named `params`."""
        record, event, form, instance = key
        self.plan.problems.append(
            Problem(message, params, record, event, form, instance, field=name, value=value)
        )

    def one(self, cells: MappingABC[str, list[str]], name: str) -> str | None:
        self.used.add(name)
        values = cells.get(name)
        return values[0] if values else None

    def time(self, key: Key, cells: MappingABC[str, list[str]], name: str) -> datetime | None:
        text = self.one(cells, name)
        if text is None:
            return None
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=self.zone)
            except ValueError:
                continue
        self.problem(key, name, msg.NOT_A_TIME, text)
        return None

    def date(self, key: Key, cells: MappingABC[str, list[str]], name: str) -> date | None:
        text = self.one(cells, name)
        if text is None:
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            self.problem(key, name, msg.NOT_A_DATE, text)
            return None

    def number(self, key: Key, cells: MappingABC[str, list[str]], name: str) -> float | None:
        text = self.one(cells, name)
        if text is None:
            return None
        try:
            return float(text)
        except ValueError:
            self.problem(key, name, msg.NOT_A_NUMBER, text)
            return None

    def choice(self, key: Key, cells: MappingABC[str, list[str]], c: Choice) -> Any:
        text = self.one(cells, c.field)
        if text is None:
            return None
        if not c.choices:
            return text
        if text not in c.choices:
            known = str(sorted(c.choices))
            self.problem(key, c.field, msg.UNKNOWN_CHOICE_OF, text, known=known)
            return None
        return c.choices[text]


def _study_id(m: Mapping, record: str) -> str:
    return f"{m.prefix}{record}"


def read_project(dictionary_path: Path, records_path: Path, mapping: Mapping) -> Plan:
    """Read and map every record; nothing is written. Raises RedcapError for a mapping field
    absent from the dictionary (before any record is read) or an unreadable file."""
    dictionary = read_dictionary(dictionary_path)
    missing = {f: w for f, w in mapping.fields().items() if f not in dictionary}
    if missing:
        listed = (f"{w} = {f!r}" for f, w in sorted(missing.items(), key=lambda x: x[1]))
        raise RedcapError(msg.FIELDS_MISSING.format(fields=", ".join(listed)))
    cells = read_cells(records_path, dictionary)
    r = _Reader(mapping, dictionary)
    by_record: dict[str, list[tuple[Key, dict[str, list[str]]]]] = defaultdict(list)
    for key, c in cells.items():
        by_record[key[0]].append((key, c))
    if mapping.events:
        unknown = Counter(k[1] for k in cells if k[1] and k[1] not in mapping.events)
        for event, n in sorted(unknown.items()):
            r.plan.problems.append(Problem(msg.UNKNOWN_EVENT, {"event": event, "n": str(n)}))
    for record, instances in by_record.items():
        r.plan.patients.append(_patient(r, record, instances))
    known = set(mapping.fields())
    for _, c in cells.items():
        for name, values in c.items():
            if name not in known:
                r.plan.unmapped[name] += len(values)
    return r.plan


def _merged(instances: list[tuple[Key, dict[str, list[str]]]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for key, c in instances:
        if key[2] == "":
            for k, v in c.items():
                out[k] += v
    return out


def _patient(
    r: _Reader, record: str, instances: list[tuple[Key, dict[str, list[str]]]]
) -> dict[str, Any]:
    m = r.m
    key: Key = (record, "", "", "")
    flat = _merged(instances)
    pt: dict[str, Any] = {"study_id": _study_id(m, record)}
    pt["site"] = m.site if isinstance(m.site, str) else r.choice(key, flat, m.site)
    for name, rule in m.patient.items():
        if name == "birth_year":
            text = r.one(flat, rule.field)
            if text is not None:
                try:
                    pt[name] = int(text[:4]) if rule.take == "year" else int(text)
                except ValueError:
                    r.problem(key, rule.field, msg.NOT_A_YEAR, text)
        elif name == "diagnosis_date":
            pt[name] = r.date(key, flat, rule.field)
        else:
            pt[name] = r.choice(key, flat, rule)
    if m.prior_therapies is not None:
        r.used.add(m.prior_therapies.field)
        codes = flat.get(m.prior_therapies.field, [])
        unknown = [x for x in codes if x not in m.prior_therapies.choices]
        for x in unknown:
            r.problem(key, m.prior_therapies.field, msg.UNKNOWN_CHECKBOX, x)
        pt["prior_therapies"] = [m.prior_therapies.choices[x] for x in codes if x not in unknown]
    course: dict[str, Any] = {}
    for name, f in m.course.items():
        if name.endswith("_date"):
            course[name] = r.date(key, flat, f)
        elif name == "infusion_at":
            course[name] = r.time(key, flat, f)
        elif name == "dose_cells_per_kg":
            course[name] = r.number(key, flat, f)
        else:
            course[name] = r.one(flat, f)
    pt["course"] = course if course.get("product") else None
    pt["observations"], pt["assessments"], pt["events"] = [], [], []
    source = f"redcap:{m.project}"
    for key, c in sorted(instances, key=lambda kc: (kc[0][1], kc[0][2], _int(kc[0][3]))):
        for o in m.observations:
            if o.field not in c:
                r.used.add(o.field)
                continue
            value = r.number(key, c, o.field)
            t = r.time(key, c, o.time)
            spec = o.specimen if isinstance(o.specimen, str) else r.choice(key, c, o.specimen)
            if t is None:
                r.problem(key, o.time, msg.VALUE_WITHOUT_TIME, None)
                continue
            if value is None:
                continue
            pt["observations"].append(
                {
                    "code": o.code,
                    "code_system": LOCAL if o.code.startswith("local:") else LOINC,
                    "value": value,
                    "unit": o.unit,
                    "specimen": spec,
                    "effective_at": t,
                    "source": source,
                }
            )
        for a in m.assessments:
            present = [f for f in a.inputs.values() if f in c]
            if not present and a.time not in c:
                r.used.update(a.inputs.values())
                continue
            t = r.time(key, c, a.time)
            if t is None:
                r.problem(key, a.time, msg.ASSESSMENT_WITHOUT_TIME, None)
                continue
            inputs: dict[str, Any] = {}
            for name, f in a.inputs.items():
                text = r.one(c, f)
                if text is None:
                    continue
                if name in a.choices:
                    if text not in a.choices[name]:
                        r.problem(key, f, msg.UNKNOWN_CHOICE, text)
                        continue
                    item: Any = a.choices[name][text]
                else:
                    item = _scalar(a.instrument, name, text)
                _set(inputs, name, item)
            total = None if a.check_total is None else r.number(key, c, a.check_total)
            pt["assessments"].append(
                {
                    "instrument": a.instrument,
                    "inputs": inputs,
                    "effective_at": t,
                    "total": total,
                    "where": key,
                }
            )
        for e in m.event_rules:
            if key[2] not in ("", e.form) or e.fields["onset"] not in c:
                r.used.update(e.fields.values())
                if isinstance(e.type, Choice):
                    r.used.add(e.type.field)
                continue
            kind = e.type if isinstance(e.type, str) else r.choice(key, c, e.type)
            onset = r.time(key, c, e.fields["onset"])
            ev: dict[str, Any] = {"type": kind, "onset_at": onset, "where": key}
            for part, f in e.fields.items():
                if part == "onset":
                    continue
                if part == "end":
                    ev["end_at"] = r.time(key, c, f)
                elif part == "grade":
                    g = r.number(key, c, f)
                    ev["grade"] = None if g is None else int(g)
                elif part == "dose":
                    ev["dose"] = r.number(key, c, f)
                elif part == "details":
                    text = r.one(c, f)
                    try:
                        ev["details"] = {} if text is None else dict(json.loads(text))
                    except (ValueError, TypeError):
                        r.problem(key, f, msg.NOT_AN_OBJECT, text)
                elif part == "term":
                    ev["ctcae_term"] = r.one(c, f)
                else:
                    ev[part] = r.one(c, f)
            if kind is not None and onset is not None:
                pt["events"].append(ev)
    return pt


def _int(x: str) -> int:
    return int(x) if x.isdigit() else 0


def _set(inputs: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for p in parts[:-1]:
        inputs = inputs.setdefault(p, {})
    inputs[parts[-1]] = value


def _scalar(instrument: str, name: str, text: str) -> Any:
    """A REDCap text value as the calculator input's type (the calculator validates it)."""
    specs = {s.name: s for s in proj.calculator_fields(instrument) or []}
    spec = specs.get(name)
    kind = spec.kind if spec else "float"
    try:
        if kind == "bool":
            return text in ("1", "true", "yes", "y")
        if kind == "int":
            return int(float(text))
        if kind == "float":
            return float(text)
    except ValueError:
        return text  # the calculator names the field and the bad value
    return text


@dataclass(frozen=True)
class ImportResult:
    """What a REDCap import wrote, per kind of record, and whether it was committed or a dry run."""

    counts: dict[str, int]
    committed: bool


class _DryRunError(Exception):
    """Raised inside the transaction to roll a dry run back."""


def apply(database: Database, actor: User, plan: Plan, *, dry_run: bool) -> ImportResult:
    """Store the plan in one transaction (rolled back when `dry_run`); RedcapError names the
    first value the services refuse, and then nothing is stored."""
    if plan.problems:
        first = str(plan.problems[0])
        raise RedcapError(msg.CANNOT_MAP.format(n=len(plan.problems), finding=first))
    try:
        with database.transaction() as session:
            user = session.merge(actor)
            for pt in plan.patients:
                _store(session, user, pt)
            if dry_run:
                raise _DryRunError
    except _DryRunError:
        return ImportResult(plan.counts(), committed=False)
    return ImportResult(plan.counts(), committed=True)


def _store(session: Any, user: User, pt: dict[str, Any]) -> None:
    where = msg.RECORD.format(study_id=pt["study_id"])
    try:
        patient = repo.create_patient(
            session,
            user,
            repo.PatientIn(
                study_id=pt["study_id"],
                site=pt["site"],
                sex=pt.get("sex") or "unknown",
                diagnosis=pt.get("diagnosis") or "other",
                birth_year=pt.get("birth_year"),
                subtype=pt.get("subtype"),
                diagnosis_date=pt.get("diagnosis_date"),
                prior_therapies=pt.get("prior_therapies") or [],
            ),
        )
        if pt["course"]:
            repo.create_course(session, user, repo.CourseIn(patient_id=patient.id, **pt["course"]))
        if pt["observations"]:
            ingest_observations(
                session,
                user,
                patient.id,
                [ObservationIn(**o) for o in pt["observations"]],
                limit=max(len(pt["observations"]), 1),
            )
        for a in pt["assessments"]:
            where = msg.AT_RECORD.format(
                study_id=pt["study_id"], what=a["instrument"], at=a["effective_at"]
            )
            row = add_assessment(
                session,
                user,
                repo.AssessmentIn(
                    patient_id=patient.id,
                    instrument=a["instrument"],
                    inputs=a["inputs"],
                    effective_at=a["effective_at"],
                ),
            )
            if a["total"] is not None and abs(row.value - a["total"]) > 1e-9:
                raise RedcapError(
                    msg.TOTAL_DIFFERS.format(
                        where=where, total=f"{a['total']:g}", score=f"{row.value:g}"
                    )
                )
        for e in pt["events"]:
            where = msg.AT_RECORD.format(study_id=pt["study_id"], what=e["type"], at=e["onset_at"])
            fields = {k: v for k, v in e.items() if k != "where"}
            repo.add_event(session, user, repo.EventIn(patient_id=patient.id, **fields))
    except (ServiceError, StoreError, CalculatorInputError, TypeError) as exc:
        raise RedcapError(msg.REFUSED.format(where=where, error=exc)) from None
