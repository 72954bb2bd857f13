"""Service-level reads and writes of the clinical record, each write audited.

Every write function takes the session and the acting user, takes the audit chain's lock
first, writes, and appends its audit entries in the same transaction. None of them commits:
the caller owns the transaction (`with db.transaction() as session: ...`), so a request is
all-or-nothing. Inputs are expected validated and in canonical units (neurocart.ingest,
the API's models); the checks here are the ones the record itself depends on.

Clinical facts are append-only: `correct_*` adds a row that supersedes the old one and
`retract_*` adds one marking it entered in error; `list_*` return current rows unless asked
for `history=True`. Master data (users, patients, courses, tasks) is updated in place; the
audit log keeps old → new.
"""

from __future__ import annotations

from neurocart.store.repo._common import (
    KEEP,
    LOCAL,
    LOINC,
    SYSTEM_ACTOR,
    AssessmentIn,
    CourseIn,
    EventIn,
    Fact,
    Keep,
    ObservationIn,
    PatientIn,
    audit_trail,
    current,
    history,
    id_chunks,
    ids_in,
    list_audit,
    versions,
)
from neurocart.store.repo.assessments import (
    add_assessment,
    correct_assessment,
    get_assessment,
    list_assessments,
    retract_assessment,
)
from neurocart.store.repo.events import (
    add_event,
    correct_event,
    get_event,
    list_events,
    retract_event,
)
from neurocart.store.repo.observations import (
    ObservationColumns,
    ObservationFields,
    ValueSeries,
    add_observation,
    add_observations,
    add_patient_observation_columns,
    add_patient_observations,
    correct_observation,
    get_observation,
    latest_observations,
    list_observations,
    observation_series,
    retract_observation,
)
from neurocart.store.repo.patients import (
    Redated,
    create_course,
    create_patient,
    find_patient,
    get_course,
    get_patient,
    infusions_to_redate,
    list_courses,
    list_patients,
    redate_infusions,
    update_course,
    update_patient,
)
from neurocart.store.repo.tasks import (
    list_tasks,
    set_task,
)
from neurocart.store.repo.users import (
    create_user,
    get_user,
    get_user_by_username,
    list_users,
    update_user,
)

__all__ = [
    "KEEP",
    "LOCAL",
    "LOINC",
    "SYSTEM_ACTOR",
    "AssessmentIn",
    "CourseIn",
    "EventIn",
    "Fact",
    "Keep",
    "ObservationColumns",
    "ObservationFields",
    "ObservationIn",
    "PatientIn",
    "Redated",
    "ValueSeries",
    "add_assessment",
    "add_event",
    "add_observation",
    "add_observations",
    "add_patient_observation_columns",
    "add_patient_observations",
    "audit_trail",
    "correct_assessment",
    "correct_event",
    "correct_observation",
    "create_course",
    "create_patient",
    "create_user",
    "current",
    "find_patient",
    "get_assessment",
    "get_course",
    "get_event",
    "get_observation",
    "get_patient",
    "get_user",
    "get_user_by_username",
    "history",
    "id_chunks",
    "ids_in",
    "infusions_to_redate",
    "latest_observations",
    "list_assessments",
    "list_audit",
    "list_courses",
    "list_events",
    "list_observations",
    "list_patients",
    "list_tasks",
    "list_users",
    "observation_series",
    "redate_infusions",
    "retract_assessment",
    "retract_event",
    "retract_observation",
    "set_task",
    "update_course",
    "update_patient",
    "update_user",
    "versions",
]
