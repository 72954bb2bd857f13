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


def notify_observation_ids(
    listeners: Sequence[FactListener], session: Session, ids: Sequence[int]
) -> None:
    """Like `notify` for a batch written by id; the rows are loaded only if someone listens.

    A listener with an ``observation_ids(session, ids)`` method gets the ids instead (it reads
    the columns it needs itself: loading ORM rows costs more than a monitor needs).
    """
    if not listeners or not ids:
        return
    by_ids = [getattr(listener, "observation_ids", None) for listener in listeners]
    if all(by_ids):
        for call in by_ids:
            call(session, ids)  # type: ignore[misc]
        return
    rows: list[Observation] = []
    for start in range(0, len(ids), 1000):  # stay under every backend's parameter limit
        chunk = ids[start : start + 1000]
        rows.extend(session.scalars(select(Observation).where(Observation.id.in_(chunk))))
    rows.sort(key=lambda r: r.id)
    notify(listeners, session, rows)


ListenerList = list[Callable[[Session, Sequence[StoredFact]], None]]
