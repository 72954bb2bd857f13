"""The clinical record as SQLAlchemy 2 typed declarative models.

Clinical facts (observations, assessments, clinical events) are append-only: a correction is
a new row whose `supersedes_id` points at the row it replaces, with a `correction_reason`; the
old row is never updated or deleted. Master data (users, patients, courses, tasks) is updated
in place, and the audit log keeps every old → new. The schema is created by the Alembic
migrations in `neurocart.store.migrations`; a test holds them equal to these models.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from neurocart import studyday
from neurocart.ingest.codes import Specimen as Specimen  # the one definition, re-exported
from neurocart.security.roles import Role as Role  # the one definition, re-exported
from neurocart.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; constraint names are deterministic so migrations can refer to them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Sex(enum.StrEnum):
    """Sex as recorded at enrolment; `unknown` keeps the field answerable when it was not
    recorded."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Diagnosis(enum.StrEnum):
    """The neurological autoimmune disease being treated."""

    MS = "ms"
    NMOSD = "nmosd"
    MG = "mg"
    IMNM = "imnm"
    CIDP = "cidp"
    OTHER = "other"


class EventType(enum.StrEnum):
    """Clinical events. CRS and ICANS are recorded as episodes (onset, end, maximum grade).

    Besides the clinical happenings, the procedures and documented decisions that complete
    care-pathway tasks (`completed_by.events` in neurocart/pathway/protocols/*.toml) are events
    too; a test holds every event type a shipped protocol names to a member here. A protocol's
    ``drug_given:<drug>`` is a DRUG_GIVEN event whose `drug` is <drug>.
    """

    # clinical course
    RELAPSE = "relapse"
    INFECTION = "infection"
    HOSPITALIZATION = "hospitalization"
    ADVERSE_EVENT = "adverse_event"
    CRS = "crs"
    ICANS = "icans"
    SEIZURE = "seizure"
    OXYGEN_SUPPORT = "oxygen_support"
    DRUG_GIVEN = "drug_given"
    MAINTENANCE_STARTED = "maintenance_started"
    MAINTENANCE_STOPPED = "maintenance_stopped"
    DEATH = "death"
    # procedures
    MRI = "mri"
    LUMBAR_PUNCTURE = "lumbar_puncture"
    ECHOCARDIOGRAM = "echocardiogram"
    ECG = "ecg"
    NEURO_EXAM = "neuro_exam"
    LEUKAPHERESIS = "leukapheresis"
    PRODUCT_SHIPPED = "product_shipped"
    CAR_T_INFUSION = "car_t_infusion"
    PREMEDICATION = "premedication"
    SUPPORTIVE_CARE = "supportive_care"
    # documented decisions and reviews
    DIAGNOSIS_CONFIRMED = "diagnosis_confirmed"
    WASHOUT_DOCUMENTED = "washout_documented"
    BRIDGING_DECISION = "bridging_decision"
    PATIENT_EDUCATION = "patient_education"
    RELAPSE_HISTORY_REVIEWED = "relapse_history_reviewed"
    NEUTROPENIA_REVIEW = "neutropenia_review"
    VACCINATION_REVIEW = "vaccination_review"
    LTFU_REVIEW = "ltfu_review"


ENUM_LENGTH = 32
"""Width of every enum column; a test holds every member's value to fit."""


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, storing the lowercase value."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=ENUM_LENGTH,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class User(Base):
    """A login account. Accounts are deactivated, never deleted, so every audit entry keeps its
    actor."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    """Preferred language of the pages (en, zh_CN); None: the browser's, else the site's."""


class Patient(Base):
    """A treated patient under a pseudonymous study ID; no name, no hospital number."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(String(64), unique=True)
    site: Mapped[str] = mapped_column(String(64))
    sex: Mapped[Sex] = mapped_column(_enum(Sex, "sex"))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    diagnosis: Mapped[Diagnosis] = mapped_column(_enum(Diagnosis, "diagnosis"))
    subtype: Mapped[str | None] = mapped_column(String(64))
    diagnosis_date: Mapped[date | None] = mapped_column(Date)
    prior_therapies: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class TreatmentCourse(Base):
    """One CAR-T course: the product and the anchor dates the pathway schedules from.

    Anchors are kept as dates (a clinic records "apheresis on 3 March"), the infusion also as
    an instant when known: the acute pathway (vitals every 4 h) and the monitor ("fever within
    36 h of infusion") need the hour. `anchor_times` is the one place a date becomes an
    instant.
    """

    __tablename__ = "treatment_courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    product: Mapped[str] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(64))
    dose_cells_per_kg: Mapped[float | None] = mapped_column(Double)
    lymphodepletion: Mapped[str | None] = mapped_column(String(128))
    enrolment_date: Mapped[date | None] = mapped_column(Date)
    apheresis_date: Mapped[date | None] = mapped_column(Date)
    ld_start_date: Mapped[date | None] = mapped_column(Date)
    infusion_date: Mapped[date | None] = mapped_column(Date)
    infusion_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The infusion instant when known; `infusion_date` is then its date on the site's clock
    (the repository derives it and refuses another)."""
    protocol_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("dose_cells_per_kg > 0", name="dose_positive"),)

    def anchor_times(self) -> dict[str, datetime | None]:
        """The pathway anchors as tz-aware UTC instants (None while not reached).

        A date-only anchor is taken at 00:00 of that date on the site's clock, so everything
        recorded on the day falls on or after it and the study day of any time on the
        infusion date is 0 (with a guessed 09:00, an 08:00 observation would land on day -1).
        The infusion uses `infusion_at` when it was recorded.
        """
        return anchor_times(
            self.enrolment_date,
            self.apheresis_date,
            self.ld_start_date,
            self.infusion_date,
            self.infusion_at,
        )


def anchor_times(
    enrolment: date | None,
    apheresis: date | None,
    ld_start: date | None,
    infusion: date | None,
    infusion_at: datetime | None,
    start: Callable[[date | None], datetime | None] | None = None,
) -> dict[str, datetime | None]:
    """`TreatmentCourse.anchor_times` of a course's columns (a bulk read calls it per row).

    `start`: `day_start`, or a memo of it (a cohort's courses share few dates)."""
    start = day_start if start is None else start
    return {
        "enrolment": start(enrolment),
        "apheresis": start(apheresis),
        "ld_start": start(ld_start),
        "infusion": infusion_at or start(infusion),
    }


def day_start(day: date | None) -> datetime | None:
    """00:00 of `day` on the site's clock (`neurocart.studyday.day_start`), as a UTC instant:
    the convention for anchors recorded as dates."""
    return None if day is None else studyday.day_start(day)


class Observation(Base):
    """One measured value in canonical SI units (converted at ingest, once)."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    code: Mapped[str] = mapped_column(String(64))
    code_system: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Double)
    unit: Mapped[str] = mapped_column(String(32))
    specimen: Mapped[Specimen] = mapped_column(_enum(Specimen, "specimen"))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    """Free text the source sent with the value (e.g. "haemolysed"); kept, never parsed."""
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("observations.id"), unique=True)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    entered_in_error: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_observations_patient_code_time", "patient_id", "code", "effective_at"),
        Index("ix_observations_patient_time", "patient_id", "effective_at", "id"),
        Index("ix_observations_patient_specimen", "patient_id", "specimen"),
    )


class Assessment(Base):
    """A clinical instrument's inputs and the Result its calculator computed from them."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    instrument: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    value: Mapped[float] = mapped_column(Double)
    label: Mapped[str] = mapped_column(String(128))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), unique=True)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    entered_in_error: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_assessments_patient_instrument_time", "patient_id", "instrument", "effective_at"),
        Index("ix_assessments_patient_time", "patient_id", "effective_at", "id"),
    )


class ClinicalEvent(Base):
    """Something that happened to the patient: relapse, infection, AE, CRS/ICANS, a drug..."""

    __tablename__ = "clinical_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    type: Mapped[EventType] = mapped_column(_enum(EventType, "event_type"))
    onset_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ctcae_term: Mapped[str | None] = mapped_column(String(128))
    grade: Mapped[int | None] = mapped_column(Integer)
    drug: Mapped[str | None] = mapped_column(String(64))
    dose: Mapped[float | None] = mapped_column(Double)
    dose_unit: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("clinical_events.id"), unique=True)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    entered_in_error: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        CheckConstraint("grade BETWEEN 1 AND 5", name="grade_range"),
        CheckConstraint("dose >= 0", name="dose_nonnegative"),
        Index("ix_clinical_events_patient_type_onset", "patient_id", "type", "onset_at"),
        Index("ix_clinical_events_patient_onset", "patient_id", "onset_at", "id"),
    )


class Task(Base):
    """A persisted state of one scheduled protocol task (the pathway engine computes the rest).

    `state` and `completed_by` (e.g. "observation:42") are free text on purpose: the pathway
    decides their vocabulary.
    """

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    protocol_id: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(128))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(32))
    completed_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint(
            "patient_id", "protocol_id", "task_id", "slot_start", name="uq_tasks_slot"
        ),
    )


class AuditEntry(Base):
    """One link of the hash chain: who did what to which row, old → new.

    `old` and `new` hold the row snapshots as canonical (RFC 8785) JSON text, exactly the
    bytes hashed. `hash` is HMAC-SHA256, with the key `key_id` names, over the canonical
    serialization of every other field (see neurocart.store.audit); `prev_hash` is the
    previous entry's hash.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))
    """The audit key that signed `hash` (HMAC-SHA256); None for an entry from before keys."""

    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    @property
    def old_values(self) -> dict[str, Any] | None:
        """The row before the change (None for a create)."""
        return None if self.old is None else json.loads(self.old)

    @property
    def new_values(self) -> dict[str, Any] | None:
        """The row after the change."""
        return None if self.new is None else json.loads(self.new)


class Alert(Base):
    """One alert episode as the monitor engine raised it (`key` is the engine's alert key).

    Written only by the monitoring service from the engine's actions (open, upgrade, update,
    escalate, close, acknowledge); `alert_actions` keeps every action, append-only. An
    acknowledgement is also audited (entity type ``alert``).
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    study_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    episode: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    grade: Mapped[float | None] = mapped_column(Double)
    status: Mapped[str] = mapped_column(String(16))
    disciplines: Mapped[list[str]] = mapped_column(JSON)
    tier: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    recommended: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        Index("ix_alerts_status_study", "status", "study_id"),
        Index("ix_alerts_opened", "opened_at", "id"),
    )


class AlertAction(Base):
    """Every action the monitor engine emitted, in emission order (append-only).

    `payload` is `neurocart.monitor.AlertAction.to_dict()`; replay compares against it.
    """

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(160), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class MonitorCheckpoint(Base):
    """How far the monitor leader has consumed the journal (one row, id 1).

    `seq` is the last audit seq whose inputs the engine has applied and whose actions are
    stored: it is written in the same transaction as those actions, so a leader that takes
    over resumes exactly there. `epoch` grows with every change of leader and fences a
    deposed one: its writes require the epoch it took over with.
    """

    __tablename__ = "monitor_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    leader: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MonitorSnapshot(Base):
    """The monitor engine's state at a checkpoint, so a new leader replays only what came
    after it (`neurocart.services.snapshots`).

    A cache, not a record: nothing is read from it that the journal could not rebuild, so it
    is not in the audit chain (an entry per snapshot would copy megabytes into the log).
    Instead `mac` (HMAC-SHA256 with the audit key `key_id`) covers the seq, the chain hash of
    the audit entry at that seq, the fingerprint of the rules and the digest of `data`
    (zlib-compressed JSON): a snapshot edited, moved to another seq or copied from another
    chain is refused, and the leader replays the journal from the start instead.
    """

    __tablename__ = "monitor_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    mac: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MonitorStatus(Base):
    """Each patient's current CRS and ICANS grade as the monitor sees it, with the source.

    The read model the board, the chart and the API show, so that every face shows the same
    grade as the alert: written by the monitor leader whenever a grade or its source changes.
    `*_source` is ``derived`` (from vitals, events and bedside scores by the calculators) or
    ``recorded`` (a clinician's graded assessment, by `*_by`); the grade is the higher of the
    two while the recorded grade is recent (see neurocart.monitor.state).
    """

    __tablename__ = "monitor_status"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    study_id: Mapped[str] = mapped_column(String(64))
    crs_grade: Mapped[int | None] = mapped_column(Integer)
    crs_source: Mapped[str | None] = mapped_column(String(16))
    crs_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    crs_by: Mapped[str | None] = mapped_column(String(64))
    icans_grade: Mapped[int | None] = mapped_column(Integer)
    icans_source: Mapped[str | None] = mapped_column(String(16))
    icans_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    icans_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MriRegion(enum.StrEnum):
    """What an MRI scan covered."""

    BRAIN = "brain"
    SPINAL_CORD = "spinal_cord"
    OPTIC_NERVE = "optic_nerve"


class MriScan(Base):
    """One MRI scan as read: lesion counts against a comparator scan, volumes, protocol.

    Append-only like every clinical fact. The store does not grade: MRI activity comes from
    the `mri_activity` calculator when the record is read.
    """

    __tablename__ = "mri_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    scan_date: Mapped[date] = mapped_column(Date)
    comparator_date: Mapped[date | None] = mapped_column(Date)
    region: Mapped[MriRegion] = mapped_column(_enum(MriRegion, "mri_region"))
    field_strength_t: Mapped[float | None] = mapped_column(Double)
    sequence_3d_flair: Mapped[bool | None] = mapped_column(Boolean)
    contrast_given: Mapped[bool] = mapped_column(Boolean)
    new_t2_lesions: Mapped[int | None] = mapped_column(Integer)
    enlarging_t2_lesions: Mapped[int | None] = mapped_column(Integer)
    gd_enhancing_lesions: Mapped[int | None] = mapped_column(Integer)
    t2_lesion_volume_ml: Mapped[float | None] = mapped_column(Double)
    brain_volume_ml: Mapped[float | None] = mapped_column(Double)
    pbvc_percent: Mapped[float | None] = mapped_column(Double)
    software: Mapped[str | None] = mapped_column(String(64))
    reader: Mapped[str | None] = mapped_column(String(64))
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("mri_scans.id"), unique=True)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    entered_in_error: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_mri_scans_patient_date", "patient_id", "scan_date"),)


class NerveConductionStudy(Base):
    """One nerve-conduction study: per motor nerve and side the measurements and the lab's
    limits (JSON list, the `cidp_ncs_ean_pns_2021` calculator's `nerves`), optional sensory
    nerves. The store does not grade: the criteria are computed when the record is read."""

    __tablename__ = "ncs_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    study_date: Mapped[date] = mapped_column(Date)
    lab: Mapped[str | None] = mapped_column(String(64))
    nerves: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    sensory_nerves: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("ncs_studies.id"), unique=True)
    correction_reason: Mapped[str | None] = mapped_column(Text)
    entered_in_error: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_ncs_patient_date", "patient_id", "study_date"),)


class Signature(Base):
    """An electronic signature (21 CFR 11.50/11.70): who signed which record, when, and what
    the signature means, linked to the signed row by entity type and id.

    The signer re-entered their password at that moment; the row is audited like a fact and
    never changed, so the manifestation (name, time, meaning) cannot be detached from it."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer: Mapped[str] = mapped_column(String(64))
    """The username at signing (the printed name of the manifestation)."""
    meaning: Mapped[str] = mapped_column(String(16))
    """``reviewed``, ``approved`` or ``corrected``."""
    action: Mapped[str] = mapped_column(String(16))
    """What was signed: ``acknowledge``, ``correct``, ``retract`` or ``sign``."""
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_signatures_entity", "entity_type", "entity_id"),)


class IngestKey(Base):
    """One external key already stored: (system, hashed key) → the fact's chain root.

    What makes a hospital feed's resend (or a REST client's repeated row) a no-op; so it is
    audited like the record (`neurocart.store.interop`): a key removed behind the
    application's back would let the next retry store the fact a second time.
    """

    __tablename__ = "ingest_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    root_id: Mapped[int] = mapped_column(Integer)
    first_message: Mapped[str | None] = mapped_column(String(128))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # the hash first: a lookup is selective on the index's leading column even when the
        # planner's statistics are stale (migration 0014)
        UniqueConstraint("key_hash", "system", name="uq_ingest_keys_key_hash"),
    )


class FeedMessage(Base):
    """One HL7 v2 message as received, with the ACK answered and what became of it."""

    __tablename__ = "feed_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system: Mapped[str] = mapped_column(String(128))
    """``hl7:<MSH-4>:<MSH-3>``."""
    control_id: Mapped[str] = mapped_column(String(64))
    """MSH-10."""
    message_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    """``accepted`` (AA), ``refused`` (AE), ``rejected`` (AR)."""
    reason: Mapped[str | None] = mapped_column(Text)
    ack_code: Mapped[str] = mapped_column(String(2))
    ack: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("system", "control_id", name="uq_feed_messages_system_control"),
        Index("ix_feed_messages_status", "status"),
    )


class IdempotencyRecord(Base):
    """The first answer to one user's POST with one ``Idempotency-Key``, kept until expiry.

    Audited (`neurocart.services.idempotency`): a record deleted behind the application's
    back lets the client's retry store its facts a second time, and an edited `response`
    tells the client something other than what was stored.
    """

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 over method, path and body: the same key with another request is a 409."""
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    """The JSON body answered the first time."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )


AUDITED: dict[str, type[Base]] = {
    "user": User,
    "patient": Patient,
    "course": TreatmentCourse,
    "observation": Observation,
    "assessment": Assessment,
    "event": ClinicalEvent,
    "task": Task,
    "mri_scan": MriScan,
    "ncs_study": NerveConductionStudy,
    # written by the monitor leader (and an acknowledgement) as one `write_batch` entry per
    # table and transaction, and one `create_batch` entry for the rows it inserted; "alert"
    # itself names the acknowledgement journal entries
    "alert_row": Alert,
    "alert_action": AlertAction,
    "monitor_status": MonitorStatus,
    "monitor_checkpoint": MonitorCheckpoint,
    "signature": Signature,
    # the hospital feeds: a message as received and acknowledged, and the keys that make a
    # resend a no-op (keys: one `create_batch` entry per insert; a message: `create_batch`,
    # or `write_batch` when it overwrites a refused one)
    "feed_message": FeedMessage,
    "ingest_key": IngestKey,
    # the first answers to keyed API writes, which decide whether a retry is stored again
    # (one `create_batch` entry per stored answer, one `write_batch` per purge of expired ones)
    "idempotency_key": IdempotencyRecord,
}
"""Entity type name (as written in the audit log) → model. Every row of these is audited:
every table that holds clinical or safety state, and the feeds' and the API's record of what
they stored."""


class ReadLogEntry(Base):
    """Who read which part of the record, when: a chart view, a listing of a patient's
    facts, an export, a report build (one row per request, never per row returned).

    Not in the hash chain: the chain is also the monitor's journal, taken under one lock
    by every writer, and a page view must neither queue behind writes nor wake the monitor.
    Each row carries its own HMAC (`mac`, with the audit key `key_id`), so an edited row is
    found by `neurocart audit reads --check`; a deleted one is not (see docs/audit.md).
    """

    __tablename__ = "read_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    what: Mapped[str] = mapped_column(String(64))
    """What was read: ``chart``, ``observations``, ``export:fhir``, ``report`` ..."""
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    """The one patient read, or None for a cohort (then `scope` holds the filters)."""
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    key_id: Mapped[str] = mapped_column(String(32))
    mac: Mapped[str] = mapped_column(String(64))


ENTITY_TYPE: dict[type[Base], str] = {model: name for name, model in AUDITED.items()}
