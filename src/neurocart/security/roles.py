"""Roles and THE permission matrix: which role may do what to which resource.

This is the one place the API (and the web and CLI faces) ask "may this user do this?".
A route declares its (resource, action); `is_allowed(role, resource, action)` answers.

Actions, the same four for every resource:

- ``read``: see it. Running a calculator without storing anything is a read of ``calculators``.
- ``write``: create something new (record an observation, register a patient). For ``alerts``,
  write is *acknowledge* (alerts are raised by the monitor engine, never typed in). For
  ``reports``, write is *produce an export* (data leaving the system, always pseudonymized).
- ``correct``: supersede or retract an existing clinical fact with a reason (the old row stays
  readable), or update master data (a patient's diagnosis, a course's dates, a task's state).
- ``admin``: manage the resource itself rather than its content: users and roles, alert routing
  (who is paged), audit-chain verification.

The defaults, and why:

- **monitor** (the sponsor's clinical research associate) reads everything clinical, including
  the audit trail needed for source-data verification, and changes nothing. Not users.
- **admin** is the system administrator: the only role that manages users (and alert routing,
  which is who gets paged); reads everything to support the system, writes no clinical fact.
- **investigator** (PI, statistician) reads everything clinical and exports; does not enter data.
- **neurologist, hematologist, icu** are the treating clinicians: they record observations,
  assessments and clinical events, correct them, and acknowledge alerts. Registering patients,
  their CAR-T courses and the schedule is left to the treating services (neurology,
  hematology) and the data manager; ICU takes over patients who already exist.
- **nurse** records observations (vitals) and bedside assessments (ICE, see
  `NURSE_INSTRUMENTS`), works the task list, and corrects what was recorded — an append-only
  record with an audited reason makes a correction safe, and forbidding it only breeds
  workarounds. Acknowledges the alerts nursing is paged for (`ACK_DISCIPLINES`: "seen, at the
  bedside"; the escalation to the physicians' tiers is theirs); does not manage users or see
  the audit trail.
- **data_manager** imports observations (lab feeds), corrects any clinical fact, keeps patients,
  courses, tasks and schedule up to date, reads the audit trail and exports.
- **feeds** are the hospital systems' doors (FHIR Bundles, HL7 v2 messages): writing one
  is the data manager's (the interface-engine account imports labs, vitals, drugs and stays,
  like a lab import), reading a patient's record as FHIR is any role's (a read of the record),
  correcting (re-sending a message kept for review) the data manager's, and administering
  (code maps, the review list) the admin's.
- **studies** (MRI scan reads, nerve-conduction studies) are entered from the radiology or
  neurophysiology report by the treating clinicians or the data manager.
- Nobody writes or corrects the audit trail (the system appends to it), and calculators are code.

A user may always read their own account ("me"); that is a property of the route, not a
permission to read ``users``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

E = TypeVar("E", bound=enum.StrEnum)


class Role(enum.StrEnum):
    """What a user is. The store imports this enum (one definition)."""

    ADMIN = "admin"
    INVESTIGATOR = "investigator"
    NEUROLOGIST = "neurologist"
    HEMATOLOGIST = "hematologist"
    ICU = "icu"
    NURSE = "nurse"
    DATA_MANAGER = "data_manager"
    MONITOR = "monitor"


class Resource(enum.StrEnum):
    """What a permission is about; each maps to a group of API routes and pages."""

    PATIENTS = "patients"
    COURSES = "courses"
    OBSERVATIONS = "observations"
    ASSESSMENTS = "assessments"
    EVENTS = "events"
    TASKS = "tasks"
    SCHEDULE = "schedule"
    USERS = "users"
    ALERTS = "alerts"
    AUDIT = "audit"
    CALCULATORS = "calculators"
    REPORTS = "reports"
    """Cohort reports and data exports."""
    FEEDS = "feeds"
    """FHIR Bundles and HL7 v2 messages from the hospital's systems."""
    STUDIES = "studies"
    """Structured study records: MRI scans and nerve-conduction studies (read reports)."""


class Action(enum.StrEnum):
    """What a user does to a resource: read, write, correct or admin (defined in the module
    docstring)."""

    READ = "read"
    WRITE = "write"
    CORRECT = "correct"
    ADMIN = "admin"


R = Role
ALL: frozenset[Role] = frozenset(Role)
NOBODY: frozenset[Role] = frozenset()
TREATING: frozenset[Role] = frozenset({R.NEUROLOGIST, R.HEMATOLOGIST, R.ICU})
"""Clinicians at the bedside."""
REGISTRARS: frozenset[Role] = frozenset({R.NEUROLOGIST, R.HEMATOLOGIST, R.DATA_MANAGER})
"""Who registers patients, their courses and schedules (the services that enrol)."""
RECORDERS: frozenset[Role] = TREATING | {R.NURSE, R.DATA_MANAGER}
"""Who enters measurements and works the task list."""

_MATRIX: dict[tuple[Resource, Action], frozenset[Role]] = {
    (Resource.PATIENTS, Action.READ): ALL,
    (Resource.PATIENTS, Action.WRITE): REGISTRARS,
    (Resource.PATIENTS, Action.CORRECT): REGISTRARS,
    (Resource.PATIENTS, Action.ADMIN): NOBODY,
    (Resource.COURSES, Action.READ): ALL,
    (Resource.COURSES, Action.WRITE): REGISTRARS,
    (Resource.COURSES, Action.CORRECT): REGISTRARS,
    (Resource.COURSES, Action.ADMIN): NOBODY,
    (Resource.OBSERVATIONS, Action.READ): ALL,
    (Resource.OBSERVATIONS, Action.WRITE): RECORDERS,
    (Resource.OBSERVATIONS, Action.CORRECT): RECORDERS,
    (Resource.OBSERVATIONS, Action.ADMIN): NOBODY,
    (Resource.ASSESSMENTS, Action.READ): ALL,
    (Resource.ASSESSMENTS, Action.WRITE): TREATING | {R.NURSE},
    (Resource.ASSESSMENTS, Action.CORRECT): TREATING | {R.NURSE, R.DATA_MANAGER},
    (Resource.ASSESSMENTS, Action.ADMIN): NOBODY,
    (Resource.EVENTS, Action.READ): ALL,
    (Resource.EVENTS, Action.WRITE): TREATING,
    (Resource.EVENTS, Action.CORRECT): TREATING | {R.DATA_MANAGER},
    (Resource.EVENTS, Action.ADMIN): NOBODY,
    (Resource.TASKS, Action.READ): ALL,
    (Resource.TASKS, Action.WRITE): RECORDERS,
    (Resource.TASKS, Action.CORRECT): RECORDERS,
    (Resource.TASKS, Action.ADMIN): NOBODY,
    (Resource.SCHEDULE, Action.READ): ALL,
    (Resource.SCHEDULE, Action.WRITE): REGISTRARS,
    (Resource.SCHEDULE, Action.CORRECT): REGISTRARS,
    (Resource.SCHEDULE, Action.ADMIN): NOBODY,
    (Resource.USERS, Action.READ): frozenset({R.ADMIN}),
    (Resource.USERS, Action.WRITE): frozenset({R.ADMIN}),
    (Resource.USERS, Action.CORRECT): frozenset({R.ADMIN}),
    (Resource.USERS, Action.ADMIN): frozenset({R.ADMIN}),
    (Resource.ALERTS, Action.READ): ALL,
    (Resource.ALERTS, Action.WRITE): TREATING | {R.NURSE},
    (Resource.ALERTS, Action.CORRECT): TREATING,
    (Resource.ALERTS, Action.ADMIN): frozenset({R.ADMIN}),
    (Resource.AUDIT, Action.READ): frozenset({R.ADMIN, R.INVESTIGATOR, R.DATA_MANAGER, R.MONITOR}),
    (Resource.AUDIT, Action.WRITE): NOBODY,
    (Resource.AUDIT, Action.CORRECT): NOBODY,
    (Resource.AUDIT, Action.ADMIN): frozenset({R.ADMIN}),
    (Resource.CALCULATORS, Action.READ): ALL,
    (Resource.CALCULATORS, Action.WRITE): NOBODY,
    (Resource.CALCULATORS, Action.CORRECT): NOBODY,
    (Resource.CALCULATORS, Action.ADMIN): NOBODY,
    (Resource.REPORTS, Action.READ): ALL,
    (Resource.REPORTS, Action.WRITE): frozenset({R.INVESTIGATOR, R.DATA_MANAGER}),
    (Resource.REPORTS, Action.CORRECT): NOBODY,
    (Resource.REPORTS, Action.ADMIN): NOBODY,
    (Resource.FEEDS, Action.READ): ALL,
    (Resource.FEEDS, Action.WRITE): frozenset({R.DATA_MANAGER}),
    (Resource.FEEDS, Action.CORRECT): frozenset({R.DATA_MANAGER}),
    (Resource.FEEDS, Action.ADMIN): frozenset({R.ADMIN}),
    (Resource.STUDIES, Action.READ): ALL,
    (Resource.STUDIES, Action.WRITE): TREATING | {R.DATA_MANAGER},
    (Resource.STUDIES, Action.CORRECT): TREATING | {R.DATA_MANAGER},
    (Resource.STUDIES, Action.ADMIN): NOBODY,
}

ACK_DISCIPLINES: dict[Role, frozenset[str] | None] = {
    R.NEUROLOGIST: None,
    R.HEMATOLOGIST: None,
    R.ICU: None,
    R.NURSE: frozenset({"nursing"}),
}
"""Whose alerts each role with ``alerts: write`` may acknowledge: None = any discipline's (a
treating physician), else only alerts that page one of these disciplines (a nurse
acknowledges what nursing is paged for; the physicians' tiers stay with them)."""


def may_acknowledge(role: Role | str, disciplines: Iterable[str]) -> bool:
    """True when `role` may acknowledge an alert paging `disciplines`."""
    parsed = _parse(Role, role, "role")
    if not is_allowed(parsed, Resource.ALERTS, Action.WRITE):
        return False
    allowed = ACK_DISCIPLINES.get(parsed)
    return allowed is None or bool(allowed & set(disciplines))


NURSE_INSTRUMENTS: frozenset[str] = frozenset({"ice", "mg_adl"})
"""Assessments a nurse may record: bedside instruments built for nursing staff (ASTCT designed
ICE for serial bedside use by nurses) and the patient-reported MG-ADL questionnaire. Graded
physician judgements (CRS, ICANS, EDSS, QMG ...) stay with the clinicians."""


@dataclass(frozen=True, slots=True)
class Permission:
    """One cell row of the matrix: who may perform `action` on `resource`."""

    resource: Resource
    action: Action
    roles: tuple[Role, ...]


def _parse(kind: type[E], value: E | str, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(m.value for m in kind)
        raise ValueError(f"{what}: unknown {what} {value!r}; known: {known}") from None


def parse_role(value: Role | str) -> Role:
    """The Role named `value`; ValueError naming the field `role` and the known roles if none."""
    return _parse(Role, value, "role")


def allowed_roles(resource: Resource | str, action: Action | str) -> frozenset[Role]:
    """The roles that may perform `action` on `resource` (raises ValueError on unknown names)."""
    key = (_parse(Resource, resource, "resource"), _parse(Action, action, "action"))
    return _MATRIX[key]


def is_allowed(role: Role | str, resource: Resource | str, action: Action | str) -> bool:
    """True when `role` may perform `action` on `resource`.

    Unknown role, resource or action names raise ValueError: a typo in a route declaration
    must fail loudly, not deny (or allow) silently.
    """
    return _parse(Role, role, "role") in allowed_roles(resource, action)


def may_record_assessment(role: Role | str, instrument: str) -> bool:
    """True when `role` may record an assessment with this instrument (nurses: bedside only)."""
    parsed = _parse(Role, role, "role")
    if not is_allowed(parsed, Resource.ASSESSMENTS, Action.WRITE):
        return False
    return parsed is not Role.NURSE or instrument in NURSE_INSTRUMENTS


def permissions() -> list[Permission]:
    """The whole matrix, resource by resource, in the enums' order (for docs and tests)."""
    return [
        Permission(resource, action, tuple(r for r in Role if r in _MATRIX[resource, action]))
        for resource in Resource
        for action in Action
    ]


def permissions_markdown(roles: Iterable[Role] = tuple(Role)) -> str:
    """The matrix as a Markdown table (resource × action rows, one column per role)."""
    columns = list(roles)
    lines = [
        "| resource | action | " + " | ".join(r.value for r in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for p in permissions():
        marks = " | ".join("✓" if r in p.roles else "" for r in columns)
        lines.append(f"| {p.resource.value} | {p.action.value} | {marks} |")
    return "\n".join(lines)


_missing = {(r, a) for r in Resource for a in Action} - _MATRIX.keys()
if _missing:  # pragma: no cover - guards edits to the table above
    raise RuntimeError(f"permission matrix has no entry for {sorted(_missing)}")
