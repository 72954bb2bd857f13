"""Recording what a hospital feed sends, once: ingest keys, corrections and retractions.

FHIR and HL7 v2 carry their own identifiers for each result (a FHIR `Observation.identifier`,
the HL7 order, test and specimen numbers). The clinical rows carry none, so `FeedRecorder`
keeps the link in `ingest_keys` (hashed with the site salt: no hospital number is stored):

- a key seen for the first time is stored through the same services as the REST API
  (`neurocart.services.ingest` converts units and checks ranges; events go through the
  store's audited `repo.add_event` like the REST events route);
- a key seen before is the same fact again: nothing is written (a retried feed is a no-op),
  or a correction of the key's *current* row when the sender says it corrects it (or, for
  HL7, when a final result comes back with another value), or a retraction.

The recorder never commits; the monitor reads what the caller's transaction committed from
the journal, exactly as for the REST routes. Problems of the input raise `FeedError` before
anything is written.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neurocart.ingest import ObservationError, ObservationIn, normalize_observation
from neurocart.ingest.validate import NormalizedObservation
from neurocart.services import assessments, ingest
from neurocart.services.errors import InvalidInputError
from neurocart.store import repo
from neurocart.store.errors import ConflictError, InvalidRecordError, NotFoundError
from neurocart.store.interop import IngestKey, add_keys, find_keys
from neurocart.store.models import Assessment, ClinicalEvent, Observation, User

StoredFact = Observation | Assessment | ClinicalEvent


class Act(enum.StrEnum):
    """What the sender asks for a keyed fact."""

    CREATE = "create"
    CORRECT = "correct"
    RETRACT = "retract"


@dataclass(frozen=True)
class FeedProblem:
    """One fault of one item: which item (index in the call), which field, why, what came."""

    index: int
    field: str
    message: str
    got: Any = None


class FeedError(ValueError):
    """Input that cannot be stored; nothing was written."""

    def __init__(self, problems: Sequence[FeedProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"[{p.index}] {p.field}: {p.message}" for p in problems))


@dataclass(frozen=True)
class Recorded:
    """What became of one item: created, unchanged, corrected, retracted or ignored."""

    entity: str
    outcome: str
    root_id: int | None
    row_id: int | None
    version: int
    warning: str | None = None

    @property
    def created(self) -> bool:
        return self.outcome == "created"


@dataclass(frozen=True)
class ObservationItem:
    """One observation a feed message carries, keyed for idempotence, with what to do to the stored
    row.
    """

    key: str
    raw: ObservationIn
    act: Act = Act.CREATE
    reason: str | None = None


@dataclass
class FeedRecorder:
    """Stores keyed facts of one sender (`system`, e.g. ``hl7:HOSP_A`` or ``fhir``)."""

    session: Session
    actor: User
    system: str
    salt: str
    message: str | None = None
    changed_final: str = "warn"
    """A CREATE whose key is stored with another value: ``warn`` (FHIR: nothing written) or
    ``correct`` (HL7 v2: "final resent with changed value")."""

    def key_hash(self, key: str) -> str:
        """SHA-256 over the site salt, the sender and its key (no HIS number is kept)."""
        text = f"{self.salt}\x1f{self.system}\x1f{key}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def stored(self, key: str) -> bool:
        """True when this sender's `key` was stored before."""
        h = self.key_hash(key)
        return h in find_keys(self.session, self.system, [h])

    # --- observations --------------------------------------------------------------------

    def observations(self, patient_id: int, items: Sequence[ObservationItem]) -> list[Recorded]:
        """Record a patient's keyed observations; FeedError (nothing written) if any is bad."""
        normalized: list[NormalizedObservation] = []
        problems: list[FeedProblem] = []
        for i, item in enumerate(items):
            try:
                normalized.append(normalize_observation(item.raw))
            except ObservationError as exc:
                problems.append(FeedProblem(i, exc.field, exc.message, exc.got))
        if problems:
            raise FeedError(problems)
        hashes = [self.key_hash(item.key) for item in items]
        known = find_keys(self.session, self.system, sorted(set(hashes)))
        results: list[Recorded | None] = [None] * len(items)
        creates: list[int] = []
        pending: dict[str, int] = {}
        for i, (item, h) in enumerate(zip(items, hashes, strict=True)):
            if h in pending:  # the same key twice in one message: the first one counts
                results[i] = Recorded("observation", "unchanged", None, None, 1)
                continue
            stored = known.get(h)
            if stored is None:
                if item.act is Act.RETRACT:
                    results[i] = Recorded("observation", "ignored", None, None, 0)
                    continue
                warning = None if item.act is Act.CREATE else "no earlier result: stored as new"
                results[i] = Recorded("observation", "created", None, None, 1, warning)
                pending[h] = i
                creates.append(i)
                continue
            results[i] = self._existing_observation(stored, item, normalized[i])
        if creates:
            self._create_observations(patient_id, items, hashes, creates, results)
        return [r for r in results if r is not None]

    def _create_observations(
        self,
        patient_id: int,
        items: Sequence[ObservationItem],
        hashes: list[str],
        creates: list[int],
        results: list[Recorded | None],
    ) -> None:
        try:
            batch = ingest.ingest_observation_batch(
                self.session, self.actor, patient_id, [items[i].raw for i in creates]
            )
        except InvalidInputError as exc:  # normalized above, so only a store-level fault
            raise FeedError(
                [FeedProblem(creates[0], p.location, p.message, p.got) for p in exc.problems]
            ) from None
        for i, new_id in zip(creates, batch.ids, strict=True):
            old = results[i]
            assert old is not None
            results[i] = Recorded("observation", "created", new_id, new_id, 1, old.warning)
        self._keys("observation", [hashes[i] for i in creates], batch.ids)

    def _existing_observation(
        self, stored: IngestKey, item: ObservationItem, new: NormalizedObservation
    ) -> Recorded:
        chain = repo.history(self.session, Observation, stored.root_id)
        current = chain[-1]
        changes = {k: v for k, v in new.store_fields().items() if _differs(getattr(current, k), v)}
        changes.pop("source", None)
        version = len(chain)
        if item.act is Act.RETRACT:
            if current.entered_in_error:
                return Recorded("observation", "unchanged", stored.root_id, current.id, version)
            reason = item.reason or "entered in error"
            row = repo.retract_observation(self.session, self.actor, current.id, reason=reason)
            return Recorded("observation", "retracted", stored.root_id, row.id, version + 1)
        if not changes and not current.entered_in_error:
            return Recorded("observation", "unchanged", stored.root_id, current.id, version)
        if item.act is Act.CREATE and self.changed_final == "warn":
            shown = ", ".join(f"{k} {getattr(current, k)!s} → {v!s}" for k, v in changes.items())
            return Recorded(
                "observation",
                "unchanged",
                stored.root_id,
                current.id,
                version,
                f"already stored with other values ({shown}); nothing written — send a "
                "correction (status amended or corrected) to change it",
            )
        reason = item.reason or "final resent with changed value"
        row = repo.correct_observation(
            self.session, self.actor, current.id, reason=reason, **changes
        )
        warning = "final resent with changed value" if item.act is Act.CREATE else None
        return Recorded("observation", "corrected", stored.root_id, row.id, version + 1, warning)

    # --- events --------------------------------------------------------------------------

    def event(
        self,
        patient_id: int,
        key: str,
        values: Mapping[str, Any],
        act: Act = Act.CREATE,
        reason: str | None = None,
        *,
        entity: str = "event",
    ) -> Recorded:
        """Record one keyed clinical event (`values`: repo.EventIn's fields but patient_id).

        A key seen before with other values is a correction of its current row (an encounter
        that now has its discharge time); the same values are a no-op.
        """
        h = self.key_hash(key)
        stored = find_keys(self.session, self.system, [h]).get(h)
        try:
            if stored is None:
                if act is Act.RETRACT:
                    return Recorded(entity, "ignored", None, None, 0)
                row = repo.add_event(
                    self.session, self.actor, repo.EventIn(patient_id=patient_id, **values)
                )
                self._keys("event", [h], [row.id])
                return Recorded(entity, "created", row.id, row.id, 1)
            chain = repo.history(self.session, ClinicalEvent, stored.root_id)
            current = chain[-1]
            if act is Act.RETRACT:
                if current.entered_in_error:
                    return Recorded(entity, "unchanged", stored.root_id, current.id, len(chain))
                row = repo.retract_event(
                    self.session, self.actor, current.id, reason=reason or "entered in error"
                )
                return Recorded(entity, "retracted", stored.root_id, row.id, len(chain) + 1)
            changes = {k: v for k, v in values.items() if _differs(getattr(current, k), _plain(v))}
            if not changes and not current.entered_in_error:
                return Recorded(entity, "unchanged", stored.root_id, current.id, len(chain))
            row = repo.correct_event(
                self.session,
                self.actor,
                current.id,
                reason=reason or f"update from {self.system}",
                **changes,
            )
        except (InvalidRecordError, NotFoundError, ConflictError) as exc:
            name = getattr(exc, "field", None) or "event"
            raise FeedError([FeedProblem(0, name, str(exc), getattr(exc, "got", None))]) from None
        return Recorded(entity, "corrected", stored.root_id, row.id, len(chain) + 1)

    # --- assessments ---------------------------------------------------------------------

    def assessment(
        self,
        patient_id: int,
        key: str,
        instrument: str,
        inputs: Mapping[str, Any],
        effective_at: datetime,
        act: Act = Act.CREATE,
        reason: str | None = None,
    ) -> Recorded:
        """Record one keyed assessment; the calculator scores it (never the sender).

        The same key with other inputs or time is a correction (scored again)."""
        h = self.key_hash(key)
        stored = find_keys(self.session, self.system, [h]).get(h)
        if stored is None:
            if act is Act.RETRACT:
                return Recorded("assessment", "ignored", None, None, 0)
            row = assessments.add_assessment(
                self.session,
                self.actor,
                repo.AssessmentIn(patient_id, instrument, dict(inputs), effective_at),
            )
            self._keys("assessment", [h], [row.id])
            return Recorded("assessment", "created", row.id, row.id, 1)
        chain = repo.history(self.session, Assessment, stored.root_id)
        current = chain[-1]
        if act is Act.RETRACT:
            if current.entered_in_error:
                return Recorded("assessment", "unchanged", stored.root_id, current.id, len(chain))
            row = repo.retract_assessment(
                self.session, self.actor, current.id, reason=reason or "entered in error"
            )
        else:
            scored = repo.AssessmentIn(patient_id, instrument, dict(inputs), effective_at)
            same = _scored_inputs(scored) == current.inputs and current.effective_at == effective_at
            if same and not current.entered_in_error:
                return Recorded("assessment", "unchanged", stored.root_id, current.id, len(chain))
            row = assessments.correct_assessment(
                self.session,
                self.actor,
                current.id,
                reason=reason or f"update from {self.system}",
                inputs=dict(inputs),
                effective_at=effective_at,
            )
        outcome = "retracted" if act is Act.RETRACT else "corrected"
        return Recorded("assessment", outcome, stored.root_id, row.id, len(chain) + 1)

    def _keys(self, entity: str, hashes: Sequence[str], root_ids: Sequence[int]) -> None:
        """Remember this sender's keys of newly stored facts (one audit entry for them)."""
        add_keys(
            self.session, self.actor.username, system=self.system, entity_type=entity,
            key_hashes=hashes, root_ids=root_ids, first_message=self.message,
        )  # fmt: skip


def _scored_inputs(item: repo.AssessmentIn) -> dict[str, Any]:
    """The inputs as the store keeps them (the calculator's validated model, as JSON)."""
    scored: dict[str, Any] = assessments.score(item.instrument, item.inputs)["inputs"]
    return scored


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _differs(old: Any, new: Any) -> bool:
    old, new = _plain(old), _plain(new)
    if isinstance(old, float) or isinstance(new, float):
        try:
            return abs(float(old) - float(new)) > 1e-9 * max(1.0, abs(float(new)))
        except (TypeError, ValueError):
            return True
    if isinstance(old, datetime) and isinstance(new, datetime):
        return old != new
    return bool(old != new)
