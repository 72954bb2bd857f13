"""Derived CSF indices: for one patient, pair each lumbar puncture's CSF values with serum,
compute the indices, and store them as observations through the ingest service.

    with db.transaction() as session:
        update = update_csf_indices(session, system_user, patient_id)
    update.stored, update.corrected, update.retracted, update.punctures[0].not_computed

Call it after a fact with one of `INPUT_CODES` was committed for the patient (or any time: it
is idempotent). What a reader is shown — computed, and why not — is the same run without
writing:

    with db.reading() as session:
        readout = read_csf_indices(session, patient_id)

 The pairing rule is `neurocart.ingest.csf_pairs` (within 48 h, the nearest
serum value; Qalb-based quotients not computed < 48 h after albumin or plasma exchange); the
grading is the calculators' (`qalb`, `igg_index`, `igg_if`, `reibergram_igg`, `kflc_index`,
`ocb_pattern`; the λFLC index is the κFLC formula on λ chains).

Derived observations carry the CSF sample's time and a `source` that says they are derived and
how: ``derived:csf;pair_h=1.5;ivig=2025-01-02;plex=…`` (the CSF–serum interval in hours and the
last IVIg/plasma exchange before the puncture, when known). A recomputation that gives another
value (a source value was corrected) supersedes the derived row with the reason; a derived
index whose sources are gone (retracted, or no longer paired) is retracted. Nothing is stored
for a CSF value without its serum pair: `punctures[i].not_computed` says why (a machine code,
its parameters and the English, `neurocart.ingest.csf_pairs.NotComputed`), and
`read_csf_indices` gives the same without writing, for the API and the chart. The store's audit
chain records every write, as for any observation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from neurocart.ingest import by_key, lookup
from neurocart.ingest.csf_pairs import (
    CSF_KEYS,
    DEFAULT_MAX_INTERVAL_H,
    INPUT_KEYS,
    NotComputed,
    Puncture,
    Sample,
    Treatment,
    pair_lumbar_punctures,
)
from neurocart.ingest.errors import UnknownCodeError
from neurocart.services.ingest import ingest_observation_batch
from neurocart.standards import CalculatorInputError, Result, calculate
from neurocart.store import repo
from neurocart.store.models import EventType, Observation, User

SOURCE_PREFIX = "derived:csf"
"""Every derived CSF index's `source` starts with this."""

DERIVED_KEYS: dict[str, str] = {
    "qalb": "qalb",
    "igg_index": "igg_index",
    "igg_if": "igg_if",
    "reibergram_igg": "reibergram_igg",
    "kflc_index": "kflc_index",
    "lflc_index": "lflc_index",
    "ocb_pattern": "ocb_pattern",
}
"""Calculator (or derived quantity) → the observation catalogue key it is stored under."""

CALCULATOR_OF = {"lflc_index": "kflc_index"}
"""The λFLC index is computed with the κFLC index formula."""

INPUT_CODES: frozenset[tuple[str, str]] = frozenset(
    (by_key(k).system, by_key(k).code) for k in INPUT_KEYS
)
"""(code system, code) of the observations whose arrival can change a derived index: hook the
fact path on these (derived codes are not among them, so storing never re-triggers)."""

ANCHOR_CODES: frozenset[tuple[str, str]] = frozenset(
    (by_key(k).system, by_key(k).code) for k in (*CSF_KEYS, *DERIVED_KEYS.values())
)
"""(code system, code) of the CSF values and the derived indices: a patient who never had one
has no index a serum value could change (a serum value alone pairs with nothing; every
derived row stems from a CSF value)."""

TREATMENT_DRUGS = {
    "ivig": "ivig",
    "igiv": "ivig",
    "plasma_exchange": "plasma_exchange",
    "plex": "plasma_exchange",
    "plasmapheresis": "plasma_exchange",
    "albumin": "albumin",
}


@dataclass
class CsfIndexUpdate:
    """What one run found and wrote."""

    patient_id: int
    punctures: list[Puncture]
    results: dict[tuple[datetime, str], Result] = field(default_factory=dict)
    """(CSF time, calculator) → its Result, for everything computed."""
    stored: list[int] = field(default_factory=list)
    corrected: list[int] = field(default_factory=list)
    retracted: list[int] = field(default_factory=list)

    @property
    def not_computed(self) -> dict[tuple[datetime, str], NotComputed]:
        return {(p.csf_at, n): why for p in self.punctures for n, why in p.not_computed.items()}


def _key(o: Observation) -> str | None:
    system = o.code_system
    try:
        return lookup(o.code, system).key
    except UnknownCodeError:
        return None


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _samples(observations: Iterable[Observation]) -> list[Sample]:
    out = []
    for o in observations:
        key = _key(o)
        if key in INPUT_KEYS:
            out.append(Sample(key, o.value, _utc(o.effective_at), o.id))
    return out


def _treatments(session: Session, patient_id: int) -> list[Treatment]:
    out = []
    for e in repo.list_events(session, patient_id, type=EventType.DRUG_GIVEN):
        kind = TREATMENT_DRUGS.get((e.drug or "").strip().lower())
        if kind:
            out.append(Treatment(kind, _utc(e.onset_at)))
    return out


def _source(p: Puncture, name: str) -> str:
    parts = [SOURCE_PREFIX]
    if name != "ocb_pattern" and p.paired_interval_h is not None:
        parts.append(f"pair_h={p.paired_interval_h:g}")
    if p.ivig_last_date:
        parts.append(f"ivig={p.ivig_last_date.isoformat()}")
    if p.plex_last_date:
        parts.append(f"plex={p.plex_last_date.isoformat()}")
    return ";".join(parts)[:64]


def _codes(keys: Iterable[str]) -> list[tuple[str, str]]:
    return [(by_key(k).system, by_key(k).code) for k in keys]


def _read(session: Session, patient_id: int, keys: Iterable[str]) -> list[Observation]:
    """The patient's current observations under these catalogue keys (one query)."""
    wanted = set(_codes(keys))
    rows = repo.list_observations(session, patient_id, codes={code for _, code in wanted})
    return [o for o in rows if (o.code_system, o.code) in wanted]


def compute(punctures: Iterable[Puncture]) -> dict[tuple[datetime, str], Result]:
    """Grade every computable index of every puncture (pure; no store). An index whose
    calculator refuses the paired values (e.g. CSF albumin above serum albumin) is moved from
    the puncture's `inputs` to its `not_computed`, with the calculator's message: the other
    indices of the puncture are still computed."""
    out: dict[tuple[datetime, str], Result] = {}
    for p in punctures:
        for name, inputs in list(p.inputs.items()):
            try:
                out[p.csf_at, name] = calculate(CALCULATOR_OF.get(name, name), inputs)
            except CalculatorInputError as exc:
                del p.inputs[name]
                p.not_computed[name] = NotComputed("calculator_refused", {"error": str(exc)})
    return out


def read_csf_indices(
    session: Session,
    patient_id: int,
    *,
    max_interval_h: float = DEFAULT_MAX_INTERVAL_H,
) -> CsfIndexUpdate:
    """The patient's lumbar punctures as the paired-sample rule reads them now: for each, the
    indices computed (`results`) and, for the others, why not (`punctures[i].not_computed`).
    Reads only (nothing stored: `stored`, `corrected` and `retracted` stay empty); the
    indices are those `update_csf_indices` stores. NotFoundError (field `patient_id`) for an
    unknown patient."""
    patient = repo.get_patient(session, patient_id)
    punctures = pair_lumbar_punctures(
        _samples(_read(session, patient_id, INPUT_KEYS)),
        birth_year=patient.birth_year,
        treatments=_treatments(session, patient_id),
        max_interval_h=max_interval_h,
    )
    return CsfIndexUpdate(patient_id, punctures, compute(punctures))


def update_csf_indices(
    session: Session,
    actor: User,
    patient_id: int,
    *,
    max_interval_h: float = DEFAULT_MAX_INTERVAL_H,
) -> CsfIndexUpdate:
    """Pair, compute and store (or correct, or retract) the patient's derived CSF indices.

    Runs in the caller's transaction and never commits. NotFoundError (field `patient_id`) for
    an unknown patient.
    """
    update = read_csf_indices(session, patient_id, max_interval_h=max_interval_h)
    punctures = update.punctures
    wanted: dict[tuple[str, str, datetime], tuple[float, str]] = {}
    for p in punctures:
        for name in p.inputs:
            entry = by_key(DERIVED_KEYS[name])
            value = update.results[p.csf_at, name].number
            wanted[entry.system, entry.code, p.csf_at] = (value, _source(p, name))
    existing = {
        (o.code_system, o.code, _utc(o.effective_at)): o
        for o in _read(session, patient_id, DERIVED_KEYS.values())
        if o.source.startswith(SOURCE_PREFIX)
    }
    new_rows: list[dict[str, Any]] = []
    for (system, code, at), (value, source) in sorted(wanted.items(), key=lambda kv: kv[0][2]):
        old = existing.pop((system, code, at), None)
        if old is None:
            entry = lookup(code, system)
            new_rows.append(
                {"code": code, "code_system": system, "value": value, "unit": entry.unit,
                 "specimen": "csf", "effective_at": at, "source": source}
            )  # fmt: skip
        elif not math.isclose(old.value, value, rel_tol=1e-12, abs_tol=1e-12) or (
            old.source != source
        ):
            row = repo.correct_observation(
                session, actor, old.id, reason="recomputed: a paired source value changed",
                value=value, source=source,
            )  # fmt: skip
            update.corrected.append(row.id)
    for old in existing.values():
        repo.retract_observation(
            session,
            actor,
            old.id,
            reason="its paired CSF/serum source values are no longer current",
        )
        update.retracted.append(old.id)
    if new_rows:
        update.stored = ingest_observation_batch(session, actor, patient_id, new_rows).ids
    return update


__all__ = [
    "DERIVED_KEYS",
    "INPUT_CODES",
    "SOURCE_PREFIX",
    "CsfIndexUpdate",
    "NotComputed",
    "compute",
    "read_csf_indices",
    "update_csf_indices",
]
