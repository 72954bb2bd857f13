"""Request and response models of the API (pydantic v2).

Requests forbid unknown fields (a misspelt field is an error, not silently dropped), refuse
NaN and infinity, and bound every string and number to what the store can hold, so bad input
is a 422 naming the field and never a database error. Types are strict where JSON is
ambiguous (docs/api-input.md): a number is a JSON number (not the text "80", not true/false),
an instant is an ISO 8601 text with an explicit offset that still exists once converted to
UTC (not an epoch number, not a naive time), a date is an ISO 8601 date text.
Observations arrive in any accepted unit (neurocart.ingest converts them); assessments carry
only the instrument's item inputs — the calculator computes the result.

Update and correction models: a field left out keeps its value; for a field that cannot be
empty, null is refused (the default shown as null means "not given").
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from neurocart.config import Settings
from neurocart.ingest import ObservationIn
from neurocart.services.studies import MriScanIn, NcsStudyIn
from neurocart.store.models import Diagnosis, EventType, Role, Sex, Specimen

MAX_ID = 2_147_483_647
"""Largest row id (PostgreSQL integer)."""

StudyId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
]
Name64 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name128 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Code64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Unit32 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Username = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
]
Password = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": Settings.model_fields["password_min_length"].default,
            "maxLength": 1024,
        }
    ),
]
"""A new password. Its shortest length is a setting (Settings.password_min_length), checked
by the service so that a refusal never echoes the password; the schema states the default
(a center may require more)."""
Instrument = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


_ISO_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)",
    re.ASCII,
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_instant(value: Any) -> Any:
    """Only ISO 8601 text with an offset (or a datetime, from Python callers): the lax
    parser would read 1700000000 or 0 as seconds since 1970, which no clinical source means."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_INSTANT.fullmatch(value):
        return value
    raise ValueError(
        "must be an ISO 8601 date and time with an offset, e.g. 2025-03-01T08:00:00Z or "
        "2025-03-01T09:00:00+01:00"
    )


def _in_utc(value: datetime) -> datetime:
    """The instant in UTC, the form it is stored in; refused when that overflows
    (0001-01-01T00:00:00+14:00 is a year before year 1 in UTC)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates once converted to UTC") from None


def _iso_date(value: Any) -> Any:
    """Only ISO 8601 date text (or a date): the lax parser reads 0 as 1970-01-01."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be an ISO 8601 date, e.g. 2025-03-01")


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_instant), AfterValidator(_in_utc)]
"""A point in time as the API takes it: ISO 8601 with an explicit offset, returned in UTC."""
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A calendar date as the API takes it: ``YYYY-MM-DD`` only."""
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A JSON number (integer or decimal); never a numeric text or a boolean."""
Integer = Annotated[int, Field(strict=True)]
"""A JSON integer; never a numeric text, a boolean or a decimal."""
Flag = Annotated[bool, Field(strict=True)]
"""A JSON boolean; never 0/1 or "true"."""


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("must not be null (leave the field out to keep its value)")
    return value


class _NotNull:
    """For update fields that cannot be empty (``Annotated[X | None, NotNull]``): left out
    keeps the value (the default None means "not given"), null is refused, and the OpenAPI
    document offers only X."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(_not_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        kept = [b for b in out.get("anyOf", ()) if b.get("type") != "null"]
        if len(kept) == 1:
            out = {k: v for k, v in out.items() if k != "anyOf"} | kept[0]
        return out


NotNull = _NotNull()


def _no_null_defaults(schema: dict[str, Any]) -> None:
    """Drop ``"default": null`` of fields that do not take null (see `NotNull`)."""
    for field in schema.get("properties", {}).values():
        if "default" in field and field["default"] is None and not _takes_null(field):
            del field["default"]


def _takes_null(field: dict[str, Any]) -> bool:
    return field.get("type") == "null" or any(
        branch.get("type") == "null" for branch in field.get("anyOf", [])
    )


class Request(BaseModel):
    """Base of request bodies: unknown fields, NaN and infinity are refused."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, json_schema_extra=_no_null_defaults
    )


class Response(BaseModel):
    """Base of response bodies: built straight from store rows (`from_attributes`), so a response
    never needs a hand-written copy."""

    model_config = ConfigDict(from_attributes=True)


# --- auth and users -----------------------------------------------------------------------


class LoginIn(Request):
    """The username and password exchanged for a bearer token at login."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class TokenOut(Response):
    """A bearer token with its expiry and the role it carries, so a client knows when to log in
    again and what it may do."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    username: str
    role: Role


class UserIn(Request):
    """A new account; the password is hashed (argon2) before it is stored and never returned."""

    username: Username
    password: Password = Field(
        description="at least Settings.password_min_length (default 12) characters; stored as "
        "an argon2 hash"
    )
    role: Role


class UserUpdate(Request):
    """An admin's change to an account: role, deactivation or a password reset (accounts are never
    deleted, so the audit trail keeps its actors)."""

    role: Annotated[Role | None, NotNull, Field(description="a new role")] = None
    active: Annotated[Flag | None, NotNull, Field(description="false deactivates the user")] = None
    password: Annotated[Password | None, NotNull, Field(description="a new password")] = None


class UserOut(Response):
    """An account as shown to admins; the password hash never leaves the store."""

    id: int
    username: str
    role: Role
    active: bool
    created_at: datetime


# --- patients and courses -----------------------------------------------------------------


BirthYear = Annotated[
    Integer, Field(ge=1900, le=2100, description="not after the current year (checked on write)")
]


class PatientIn(Request):
    """A patient enrolled under a pseudonymous study ID; no name or other direct identifier is
    accepted."""

    study_id: StudyId = Field(description="pseudonymous study ID (letters, digits, . _ -)")
    site: Name64
    sex: Sex
    diagnosis: Diagnosis
    birth_year: BirthYear | None = None
    subtype: Name64 | None = None
    diagnosis_date: IsoDate | None = None
    prior_therapies: list[Name128] = Field(default_factory=list, max_length=100)


class PatientUpdate(Request):
    """A change to a patient's demographics or diagnosis; a field left out keeps its value."""

    site: Annotated[Name64 | None, NotNull] = None
    sex: Annotated[Sex | None, NotNull] = None
    diagnosis: Annotated[Diagnosis | None, NotNull] = None
    birth_year: BirthYear | None = None
    subtype: Name64 | None = None
    diagnosis_date: IsoDate | None = None
    prior_therapies: Annotated[list[Name128] | None, NotNull, Field(max_length=100)] = None


class PatientOut(Response):
    """A patient as the API shows them, keyed by study ID (the store's row id is not exposed)."""

    study_id: str
    site: str
    sex: Sex
    birth_year: int | None
    diagnosis: Diagnosis
    subtype: str | None
    diagnosis_date: date | None
    prior_therapies: list[str]
    created_at: datetime


Dose = Annotated[Number, Field(gt=0, le=1e12, description="CAR-T cells per kg body weight")]
ProtocolId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]


class CourseIn(Request):
    """A treatment course (product, dose, lymphodepletion and the dates the protocol is anchored
    on); a `protocol_id` must name a known protocol."""

    product: Name128
    target: Name64 | None = None
    dose_cells_per_kg: Dose | None = None
    lymphodepletion: Name128 | None = None
    enrolment_date: IsoDate | None = None
    apheresis_date: IsoDate | None = None
    ld_start_date: IsoDate | None = None
    infusion_date: IsoDate | None = Field(
        default=None,
        description="the infusion's date on the site's clock; derived from `infusion_at` when "
        "that is given (and refused when it disagrees)",
    )
    infusion_at: Instant | None = Field(
        default=None,
        description="when the infusion was given, with its UTC offset: the acute-phase rules "
        "count hours from it (from 00:00 of `infusion_date` on the site's clock without it)",
    )
    protocol_id: ProtocolId | None = Field(default=None, description="pathway protocol")


class CourseUpdate(Request):
    """A change to a course, e.g. the infusion date once known; the schedule and study days follow
    it."""

    product: Annotated[Name128 | None, NotNull] = None
    target: Name64 | None = None
    dose_cells_per_kg: Dose | None = None
    lymphodepletion: Name128 | None = None
    enrolment_date: IsoDate | None = None
    apheresis_date: IsoDate | None = None
    ld_start_date: IsoDate | None = None
    infusion_date: IsoDate | None = None
    infusion_at: Instant | None = Field(
        default=None, description="the infusion instant; sets `infusion_date` to its local date"
    )
    protocol_id: ProtocolId | None = None


class CourseOut(Response):
    """A treatment course with its anchor dates, from which the schedule and study days are
    computed."""

    id: int
    study_id: str
    product: str
    target: str | None
    dose_cells_per_kg: float | None
    lymphodepletion: str | None
    enrolment_date: date | None
    apheresis_date: date | None
    ld_start_date: date | None
    infusion_date: date | None
    infusion_at: datetime | None
    protocol_id: str | None
    created_at: datetime


# --- clinical facts -----------------------------------------------------------------------


class FactOut(Response):
    """What every clinical fact shows: who entered it when, and its correction history."""

    id: int
    study_id: str
    entered_by: int
    recorded_at: datetime
    supersedes_id: int | None
    correction_reason: str | None
    entered_in_error: bool


class ObservationBody(ObservationIn):
    """One observation as the API takes it: neurocart.ingest's model (also fed by CSV files,
    whose cells are text) with the JSON face's strict number and instant."""

    value: Number = Field(description="the number, in `unit` (a JSON number)")
    effective_at: Instant = Field(description="when measured or sampled, with its UTC offset")
    note: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="free text kept with the value (e.g. haemolysed sample)"
    )


class ObservationBatchIn(Request):
    """Many observations in one request, stored together or not at all (one bad row refuses the
    batch, naming its index)."""

    observations: list[ObservationBody] = Field(
        min_length=1, description="up to Settings.max_batch_observations rows (default 10,000)"
    )


class BatchOut(Response):
    """What a batch stored: how many rows were stored now, every row's observation id in the
    order the rows were sent, and which rows were already stored (same patient, code, time,
    value and source) and so not stored again."""

    count: int = Field(description="rows stored by this request")
    ids: list[int] = Field(description="each row's observation id (new or already stored)")
    duplicates: list[int] = Field(
        default_factory=list, description="indices of rows already stored, not stored again"
    )


class SignatureIn(Request):
    """An electronic signature (21 CFR Part 11): the signer's password again, and what the
    signature means. Recorded with the signer's name and the time, linked to the signed row."""

    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    meaning: Literal["reviewed", "approved", "corrected"]


SignatureField = Annotated[
    SignatureIn | None,
    Field(description="required: your password again and the meaning of the signature"),
]


class SignatureOut(Response):
    """A recorded signature: who signed which row, meaning what, when."""

    id: int
    signer: str
    meaning: str
    action: str
    entity_type: str
    entity_id: int
    signed_at: datetime


class Signed(Request):
    """A body carrying only a signature, needed when the act is critical (acknowledging an
    alert)."""

    signature: SignatureField = None


class Signing(Request):
    """A body carrying only a signature, always needed (signing an assessment)."""

    signature: SignatureIn


class ObservationCorrection(Request):
    """A corrected observation; a `value` without `unit` is in the stored (canonical) unit."""

    reason: Reason
    signature: SignatureField = None
    code: Annotated[Code64 | None, NotNull] = None
    code_system: Annotated[Code64 | None, NotNull] = None
    value: Annotated[Number | None, NotNull] = None
    unit: Annotated[Unit32 | None, NotNull] = None
    specimen: Annotated[Specimen | None, NotNull] = None
    effective_at: Annotated[Instant | None, NotNull] = None
    source: Annotated[Code64 | None, NotNull] = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Retraction(Request):
    """Why a fact is withdrawn; facts are never deleted, the retraction and its reason are kept."""

    reason: Reason
    signature: SignatureField = None


class ObservationOut(FactOut):
    """A stored observation in its canonical unit, with its code system and source."""

    code: str
    code_system: str
    value: float
    unit: str
    specimen: Specimen
    effective_at: datetime
    source: str
    note: str | None


class CsfIndexOut(Response):
    """One index computed from a lumbar puncture's paired CSF and serum values."""

    index: str = Field(
        description="qalb, igg_index, igg_if, reibergram_igg, kflc_index, lflc_index or ocb_pattern"
    )
    code: str = Field(description="the observation code it is stored under")
    value: float
    label: str
    reasons: list[str]
    warnings: list[str]
    citation: str


class CsfIndexNotComputedOut(Response):
    """An index a lumbar puncture's values could not give, and why: a machine `reason` code
    (no_serum_pair, no_csf_value, no_age, below_formula_age, invalidated_by_treatment,
    calculator_refused), its `details` and the English `text`."""

    index: str
    reason: str
    text: str
    details: dict[str, str] = Field(
        description="the reason's parameters: analyte, csf_at, window_h, age, treatment, "
        "treated_at, error (each only where the reason has it)"
    )


class LumbarPunctureOut(Response):
    """One lumbar puncture (its CSF values within 2 h of the first) as the paired-sample rule
    reads it: the CSF–serum interval, what was computed and what was not, with why."""

    csf_at: datetime = Field(description="the first CSF sample of the puncture")
    paired_interval_h: float | None = Field(
        description="the longest CSF–serum interval among the pairs used (hours)"
    )
    computed: list[CsfIndexOut]
    not_computed: list[CsfIndexNotComputedOut]
    warnings: list[str]


class CsfIndicesOut(Response):
    """A patient's CSF indices per lumbar puncture, computed now from the current values."""

    study_id: str
    max_interval_h: float = Field(description="the CSF–serum pairing window (hours)")
    punctures: list[LumbarPunctureOut]


class AssessmentIn(Request):
    """An instrument's item inputs; the server runs the calculator, so a stored score always matches
    its inputs."""

    instrument: Instrument = Field(description="a calculator name, e.g. ice, crs, edss")
    inputs: dict[str, Any] = Field(description="the instrument's item inputs")
    effective_at: Instant


class AssessmentCorrection(Request):
    """A corrected assessment: new item inputs or time, scored again; the earlier version stays,
    superseded."""

    reason: Reason
    signature: SignatureField = None
    inputs: Annotated[
        dict[str, Any] | None,
        NotNull,
        Field(description="new item inputs (scored again)"),
    ] = None
    effective_at: Annotated[Instant | None, NotNull] = None


class AssessmentOut(FactOut):
    """A stored assessment: its inputs and the calculator's result (value, label, reasons)."""

    instrument: str
    inputs: dict[str, Any]
    result: dict[str, Any]
    value: float
    label: str
    effective_at: datetime


Grade = Annotated[Integer, Field(ge=1, le=5)]
DoseValue = Annotated[Number, Field(ge=0, le=1e9)]
Details = Annotated[dict[str, Any], Field(max_length=100)]


class EventIn(Request):
    """A clinical event (a drug given, oxygen support, a seizure, an adverse event...) that
    monitoring and outcomes read."""

    type: EventType
    onset_at: Instant
    end_at: Instant | None = None
    ctcae_term: Name128 | None = None
    grade: Grade | None = None
    drug: Name64 | None = None
    dose: DoseValue | None = None
    dose_unit: Unit32 | None = None
    details: Details = Field(default_factory=dict)


class EventCorrection(Request):
    """A corrected event; the fields given replace the earlier version's, which stays, superseded,
    with the reason."""

    reason: Reason
    signature: SignatureField = None
    type: Annotated[EventType | None, NotNull] = None
    onset_at: Annotated[Instant | None, NotNull] = None
    end_at: Instant | None = None
    ctcae_term: Name128 | None = None
    grade: Grade | None = None
    drug: Name64 | None = None
    dose: DoseValue | None = None
    dose_unit: Unit32 | None = None
    details: Annotated[Details | None, NotNull] = None


class EventOut(FactOut):
    """A stored event with its times, CTCAE term and grade, drug and dose."""

    type: EventType
    onset_at: datetime
    end_at: datetime | None
    ctcae_term: str | None
    grade: int | None
    drug: str | None
    dose: float | None
    dose_unit: str | None
    details: dict[str, Any]


class MriScanBody(MriScanIn):
    """An MRI read as the API takes it: the service's model with JSON-strict dates, numbers,
    counts and flags (the limits are the service's)."""

    scan_date: IsoDate
    comparator_date: IsoDate | None = None
    field_strength_t: Annotated[Number, Field(gt=0, le=12)] | None = None
    sequence_3d_flair: Flag | None = None
    contrast_given: Flag = False
    new_t2_lesions: Annotated[Integer, Field(ge=0, le=1000)] | None = None
    enlarging_t2_lesions: Annotated[Integer, Field(ge=0, le=1000)] | None = None
    gd_enhancing_lesions: Annotated[Integer, Field(ge=0, le=1000)] | None = None
    t2_lesion_volume_ml: Annotated[Number, Field(ge=0, le=2000)] | None = None
    brain_volume_ml: Annotated[Number, Field(gt=0, le=3000)] | None = None
    pbvc_percent: Annotated[Number, Field(ge=-50, le=50)] | None = None


class NcsStudyBody(NcsStudyIn):
    """A nerve conduction study as the API takes it: an ISO date (the nerves' values are
    checked by the EAN/PNS 2021 calculator)."""

    study_date: IsoDate


# --- tasks and schedule -------------------------------------------------------------------

TaskMark = Literal["done", "skipped", "not_applicable"]


class TaskIn(Request):
    """A manual mark on one scheduled slot (the engine computes every other state)."""

    protocol_id: ProtocolId
    task_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    slot_start: Instant = Field(description="the slot's window start, as in the schedule")
    state: TaskMark
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class TaskOut(Response):
    """A manual mark on a scheduled slot (done, skipped, not applicable), with who made it."""

    id: int
    study_id: str
    protocol_id: str
    task_id: str
    slot_start: datetime
    state: str
    completed_by: str | None
    note: str | None
    updated_at: datetime


class SlotOut(Response):
    """One slot of a patient's schedule: the task, its due window and its computed state with the
    reason."""

    task_id: str
    title: str
    phase: str
    discipline: str
    critical: bool
    index: int
    study_day: int | None
    due_at: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    state: str
    reason: str
    done_at: datetime | None
    done_by: list[str]


class ScheduleOut(Response):
    """A patient's whole schedule at `now`: the anchors it is computed from, counts by state and
    every slot."""

    study_id: str
    protocol_id: str
    now: datetime
    anchors: dict[str, datetime | None]
    counts: dict[str, int]
    slots: list[SlotOut]


# --- calculators and health ---------------------------------------------------------------


class FieldOut(Response):
    """One input field of a calculator, with its unit and limits, so a client can build a form that
    the server will accept."""

    name: str
    kind: str
    required: bool
    optional: bool
    default: Any
    description: str
    unit: str | None
    ge: float | None
    le: float | None
    gt: float | None
    lt: float | None
    choices: list[Any]
    expected: str
    item_fields: list[FieldOut]


class CalculatorOut(Response):
    """A calculator's name, title, source publication and input fields."""

    name: str
    title: str
    citation: str
    fields: list[FieldOut]


class MonitorHealth(Response):
    """This process's part in monitoring (leader, standby or off) and how far the monitor has read
    the journal."""

    role: Literal["leader", "standby", "off"]
    state: Literal["starting", "live", "catching up", "standby", "off"]
    journal_seq: int
    journal_head: int
    failures: int
    schedules_pending: int


class HealthOut(Response):
    """The `/health` answer: the database is reachable, and the monitor's role and whether it is
    caught up."""

    status: Literal["ok"]
    version: str
    database: Literal["ok"]
    monitor: MonitorHealth
