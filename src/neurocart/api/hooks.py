"""The monitoring hook: code that runs after clinical facts are stored, in the same transaction.

The rapid-response engine (issue 5) plugs in here:

    def on_facts(session: Session, facts: Sequence[StoredFact]) -> None:
        ...  # re-evaluate the patient, add alerts with `session`

    app = create_app()
    app.state.fact_listeners.append(on_facts)

Contract:

- Called once per request that stored facts, after the rows are flushed and before the
  response, with the request's own session: whatever a listener writes commits together with
  the facts, or not at all.
- `facts` are the stored ORM rows (`Observation`, `Assessment`, `ClinicalEvent`) in the order
  they were written, including the new row of a correction (``supersedes_id`` set) or of a
  retraction (``entered_in_error`` True). A batch gives all its rows in one call.
- A listener that raises aborts the transaction: nothing of the request is stored and the
  client gets the error (so an acknowledged fact has always been seen by every listener).
  Listeners must therefore not raise for a clinical finding — an alert is data, not an error.
- Listeners run in the request's worker thread; keep them quick (no network calls).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.services.ingest import StoredObservations
from neurocart.store import repo
from neurocart.store.models import Assessment, ClinicalEvent, Observation

StoredFact = Observation | Assessment | ClinicalEvent
"""A clinical fact as stored."""


class FactListener(Protocol):
    """Anything callable as ``listener(session, facts)``."""

    def __call__(self, session: Session, facts: Sequence[StoredFact], /) -> None: ...


def notify(
    listeners: Sequence[FactListener], session: Session, facts: Sequence[StoredFact]
) -> None:
    """Hand `facts` to every listener in registration order (nothing to do for no facts)."""
    if not facts:
        return
    for listener in listeners:
        listener(session, facts)


def notify_observation_batch(
    listeners: Sequence[FactListener], session: Session, batch: StoredObservations
) -> None:
    """Like `notify` for a batch written column by column; rows are loaded only if needed.

    A listener with an ``observation_batch(session, batch)`` method gets the stored batch
    itself (ids and the normalized columns written: reading them back, let alone as ORM rows,
    costs more than a monitor's work on them); any other gets the stored rows.
    """
    if not listeners or not batch.ids:
        return
    direct = [getattr(listener, "observation_batch", None) for listener in listeners]
    rows: list[Observation] | None = None
    for listener, call in zip(listeners, direct, strict=True):
        if call is not None:
            call(session, batch)
            continue
        if rows is None:
            rows = []
            for chunk in repo.id_chunks(batch.ids):
                rows.extend(session.scalars(select(Observation).where(Observation.id.in_(chunk))))
            rows.sort(key=lambda r: r.id)
        listener(session, rows)


ListenerList = list[Callable[[Session, Sequence[StoredFact]], None]]
