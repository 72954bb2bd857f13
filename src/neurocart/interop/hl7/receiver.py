"""One HL7 v2 message in, one ACK out — stored before it is acknowledged.

    receiver = Receiver(database, actor)
    ack = receiver.handle(text)

For a message it accepts, the receiver stores the results (through `FeedRecorder`, so the
same services and audit as the REST API; the monitor reads them from the journal), a
pseudonymized copy of the message and the ACK it is about to send, in **one
transaction**, and returns the ACK only after that transaction committed: an AA always
means stored. A message it refuses (AE, AR) stores no result, but is kept (in its own
transaction) with the reason, for review. A
message whose MSH-10 was seen from the same sender gets its original ACK again and writes
nothing, so a sender that lost an ACK and resends is safe.

Patients: a PID-3 repetition ``<study ID>^^^<authority>^PI`` (authority = the configured
study-ID authority) names the patient directly; an MR repetition goes through the site's
crosswalk (assigning authority, MRN) → study ID, held in memory only. A patient in neither
is discarded (AA, a W in ERR) or refused (AE), as configured.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from neurocart.ingest import ObservationError, normalize_observation
from neurocart.interop.codemap import CodeMap
from neurocart.interop.config import FeedSettings, get_feed_settings
from neurocart.interop.feed import FeedError, FeedRecorder
from neurocart.interop.hl7 import mapping
from neurocart.interop.hl7.ack import AckIssue, build_ack
from neurocart.interop.hl7.message import (
    Header,
    Hl7FormatError,
    Message,
    header,
    parse,
    pseudonymized,
    repetitions,
    site_zone,
)
from neurocart.store import Database
from neurocart.store.interop import FeedMessage, find_message, keep_message
from neurocart.store.models import Patient, User
from neurocart.store.types import utcnow

log = logging.getLogger(__name__)

VERSIONS = frozenset({"2.3.1", "2.4", "2.5", "2.5.1"})
SUPPORTED = {"ORU": {"R01"}, "ADT": {"A01", "A03", "A08"}}
Crosswalk = Mapping[tuple[str, str], str]
"""(assigning authority, MRN) → study ID."""


NEEDS_COLUMNS = "{path}:{row}: needs columns authority, mrn, study_id"
MESSAGES = (NEEDS_COLUMNS,)
"""A crosswalk's faults as message keys (like `neurocart.store.errors.MESSAGES`)."""


class CrosswalkError(ValueError):
    """A crosswalk file that cannot be read."""


def load_crosswalk(path: Path | str) -> dict[tuple[str, str], str]:
    """A CSV with the header ``authority,mrn,study_id`` (kept in memory, never stored)."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise CrosswalkError(f"{path}: {exc}") from None
    out: dict[tuple[str, str], str] = {}
    for n, row in enumerate(rows, start=2):
        try:
            out[row["authority"].strip(), row["mrn"].strip()] = row["study_id"].strip()
        except (KeyError, AttributeError):
            raise CrosswalkError(NEEDS_COLUMNS.format(path=path, row=n)) from None
    return out


class _RefusedError(Exception):
    def __init__(self, code: str, issues: list[AckIssue], reason: str) -> None:
        self.code = code
        self.issues = issues
        self.reason = reason


@dataclass
class Receiver:
    """Handles messages for one deployment (thread-safe: each call has its own session)."""

    database: Database
    actor: User
    codemap: CodeMap = field(default_factory=CodeMap)
    crosswalk: Crosswalk = field(default_factory=dict)
    settings: FeedSettings = field(default_factory=get_feed_settings)
    unknown_patient: str = "discard"

    def handle(self, text: str) -> str:
        """The ACK for `text` (after everything it says was committed)."""
        try:
            message = parse(text)
            head = header(message)
        except Hl7FormatError as exc:
            issue = AckIssue(exc.location, 100, exc.message)
            self._keep(None, text, "rejected", "AR", [issue], None)
            return build_ack("AR", None, [issue], text=exc.message)
        if not head.control_id:
            issue = AckIssue("MSH^1^10", 101, "MSH-10 (message control id) is required")
            return build_ack("AR", head, [issue], text=issue.message)
        try:
            return self._accept(message, head)
        except _RefusedError as refused:
            return self._refuse(message, head, refused)
        except IntegrityError:  # the same message committed meanwhile by another connection
            try:
                with self.database.reading() as session:
                    seen = find_message(session, head.system, head.control_id)
            except OperationalError:
                return self._down(head)
            return self._down(head) if seen is None else seen.ack
        except OperationalError:
            log.exception("hl7: the store is unavailable")
            return self._down(head)
        except Exception as exc:  # never drop a connection over one message: AR, kept
            log.exception("hl7: message %s failed", head.control_id)
            issue = AckIssue("MSH", 207, f"application error: {type(exc).__name__}")
            self._keep(head, message, "rejected", "AR", [issue], None)
            return build_ack("AR", head, [issue], text=issue.message)

    # --- the steps ------------------------------------------------------------------------

    def _accept(self, message: Message, head: Header) -> str:
        warnings: list[AckIssue] = []
        with self.database.transaction() as session:
            seen = find_message(session, head.system, head.control_id)
            if seen is not None and seen.status == "accepted":
                return seen.ack  # a resend: its original ACK, nothing written
            self._check_header(head)
            study_id, patient_issue = self._study_id(message)
            patient_id = self._patient_id(session, study_id)
            if patient_id is None:
                warning = patient_issue or AckIssue(
                    "PID^1^3", 204, f"study ID {study_id} is not registered", "W"
                )
                if self.unknown_patient == "error":
                    raise _RefusedError("AE", [_as_error(warning)], warning.message)
                warnings.append(warning)
                stored = False
            else:
                recorder = FeedRecorder(
                    session,
                    self.actor,
                    system=f"hl7:{head.facility}",
                    salt=self.settings.ingest_salt,
                    message=head.control_id,
                    changed_final="correct",
                )
                if head.message_code == "ORU":
                    warnings += self._oru(recorder, patient_id, message, head)
                else:
                    warnings += self._adt(recorder, patient_id, message, head)
                stored = True
            code = "CA" if head.accept_ack == "AL" else "AA"
            text = "stored" if stored else "nothing stored"
            ack = build_ack(code, head, warnings, text=text)
            reason = "; ".join(w.message for w in warnings) or None
            row = self._row(head, message, study_id, "accepted", code, ack, reason)
            keep_message(session, self.actor.username, row, seen)
        return ack

    def _check_header(self, head: Header) -> None:
        if head.version not in VERSIONS:
            raise _RefusedError(
                "AR",
                [AckIssue("MSH^1^12", 203, f"version {head.version!r}; accepted 2.3.1–2.5.1")],
                f"unsupported version {head.version}",
            )
        if head.processing_id not in ("P", "T"):
            raise _RefusedError(
                "AR",
                [AckIssue("MSH^1^11", 202, f"processing id {head.processing_id!r}")],
                f"unsupported processing id {head.processing_id}",
            )
        triggers = SUPPORTED.get(head.message_code)
        if triggers is None:
            raise _RefusedError(
                "AR",
                [
                    AckIssue(
                        "MSH^1^9", 200, f"{head.message_type}: accepted ORU^R01, ADT^A01/A03/A08"
                    )
                ],
                f"unsupported message type {head.message_type}",
            )
        if head.trigger not in triggers:
            raise _RefusedError(
                "AR",
                [AckIssue("MSH^1^9^2", 201, f"event {head.trigger!r} of {head.message_code}")],
                f"unsupported event {head.message_type}",
            )

    def _study_id(self, message: Message) -> tuple[str | None, AckIssue | None]:
        pid = message.segment("PID")
        if pid is None:
            raise _RefusedError(
                "AE", [AckIssue("PID", 101, "a PID segment is required")], "no PID segment"
            )
        reps = repetitions(pid, 3)
        authority = self.settings.hl7_study_id_authority
        for rep in reps:
            parts = rep + [""] * 5
            if parts[3] == authority and parts[4] == "PI" and parts[0]:
                return parts[0], None
        for rep in reps:
            parts = rep + [""] * 5
            if parts[4] == "MR" and (parts[3], parts[0]) in self.crosswalk:
                return self.crosswalk[parts[3], parts[0]], None
        issue = AckIssue(
            "PID^1^3", 204, "patient not in the study crosswalk: message discarded", "W"
        )
        return None, issue

    def _patient_id(self, session: Session, study_id: str | None) -> int | None:
        if study_id is None:
            return None
        found: int | None = session.scalar(select(Patient.id).where(Patient.study_id == study_id))
        return found

    def _oru(
        self, recorder: FeedRecorder, patient_id: int, message: Message, head: Header
    ) -> list[AckIssue]:
        zone = site_zone(self.settings.timezone)
        source = head.system[:64]
        mapped = mapping.map_oru(message, head.control_id, source, zone, self.codemap)
        errors = list(mapped.errors)
        for result in mapped.results:
            try:
                normalize_observation(result.item.raw)
            except ObservationError as exc:
                where = (
                    result.specimen_location
                    if exc.field == "specimen"
                    else f"{result.location}^{mapping.FIELD_OF.get(exc.field, 5)}"
                )
                errors.append(AckIssue(where, 102 if exc.field == "value" else 103, exc.message))
        if errors:
            raise _RefusedError("AE", errors, "; ".join(e.message for e in errors))
        if mapped.results:
            try:
                recorded = recorder.observations(patient_id, [r.item for r in mapped.results])
            except FeedError as exc:
                raise _RefusedError(
                    "AE",
                    [AckIssue("OBX", 207, p.message) for p in exc.problems],
                    str(exc),
                ) from None
            for result, done in zip(mapped.results, recorded, strict=True):
                if done.warning:
                    mapped.warnings.append(AckIssue(result.location, 0, done.warning, "W"))
        return mapped.warnings

    def _adt(
        self, recorder: FeedRecorder, patient_id: int, message: Message, head: Header
    ) -> list[AckIssue]:
        stay = mapping.map_adt(message, head.trigger, site_zone(self.settings.timezone))
        if stay is None:
            return [AckIssue("PV1^1^2", 0, "not an inpatient stay: nothing stored", "W")]
        if isinstance(stay, AckIssue):
            raise _RefusedError("AE", [stay], stay.message)
        warnings: list[AckIssue] = []
        if not recorder.stored(stay.key):
            if not stay.onset_known:
                issue = AckIssue("PV1^1^44", 101, "no earlier admission: PV1-44 is required")
                raise _RefusedError("AE", [issue], issue.message)
            if head.trigger != "A01":
                warnings.append(
                    AckIssue("PV1^1^19", 0, "no earlier admission: stored as a new stay", "W")
                )
        reason = f"ADT^{head.trigger} from {head.system}, MSH-10 {head.control_id}"
        try:
            recorder.event(patient_id, stay.key, stay.values, reason=reason)
        except FeedError as exc:
            raise _RefusedError(
                "AE", [AckIssue("PV1", 102, p.message) for p in exc.problems], str(exc)
            ) from None
        return warnings

    def _refuse(self, message: Message, head: Header, refused: _RefusedError) -> str:
        code = refused.code
        if head.accept_ack == "AL":
            code = {"AE": "CE", "AR": "CR"}.get(code, code)
        ack = build_ack(code, head, refused.issues, text=refused.reason[:80])
        status = "refused" if refused.code == "AE" else "rejected"
        study_id = None
        with contextlib.suppress(_RefusedError):
            study_id, _ = self._study_id(message)
        self._keep(head, message, status, code, refused.issues, ack, study_id=study_id)
        return ack

    def _keep(
        self,
        head: Header | None,
        message: Message | str,
        status: str,
        code: str,
        issues: list[AckIssue],
        ack: str | None,
        *,
        study_id: str | None = None,
    ) -> None:
        """Keep a refused message for review (best effort: the store may be what failed)."""
        reason = "; ".join(f"{i.location}: {i.message}" for i in issues)
        try:
            with self.database.transaction() as session:
                if head is None:
                    row = FeedMessage(
                        system="hl7:unparseable",
                        control_id=uuid.uuid4().hex,
                        message_type="",
                        status=status,
                        reason=reason,
                        ack_code=code,
                        ack=ack or "",
                        message=f"[{len(str(message))} characters, not parseable: not kept]",
                        received_at=utcnow(),
                    )
                    keep_message(session, self.actor.username, row)
                else:
                    row = self._row(head, message, study_id, status, code, ack or "", reason)
                    seen = find_message(session, head.system, head.control_id)
                    keep_message(session, self.actor.username, row, seen)
        except (OperationalError, IntegrityError):
            log.exception("hl7: could not keep a refused message for review")

    def _row(
        self,
        head: Header,
        message: Any,
        study_id: str | None,
        status: str,
        code: str,
        ack: str,
        reason: str | None,
    ) -> FeedMessage:
        text = pseudonymized(
            message,
            study_id,
            self.settings.hl7_study_id_authority,
            self.settings.ingest_salt,
        )
        return FeedMessage(
            system=head.system[:128],
            control_id=head.control_id[:64],
            message_type=head.message_type[:32],
            status=status,
            reason=reason,
            ack_code=code,
            ack=ack,
            message=text,
            received_at=utcnow(),
        )

    def _down(self, head: Header) -> str:
        issue = AckIssue("MSH", 207, "the store is unavailable: resend later")
        return build_ack("AR", head, [issue], text=issue.message)


def _as_error(issue: AckIssue) -> AckIssue:
    return AckIssue(issue.location, issue.code, issue.message, "E")
