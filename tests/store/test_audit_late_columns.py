"""Rows recorded before a migration added a column still verify, and only as they were."""

from __future__ import annotations

from sqlalchemy import text

from neurocart.store import Observation, User, audit, repo
from neurocart.store.models import ENTITY_TYPE
from tests.store.factories import patient, temperatures


def _as_if_recorded_before_the_column(database, model, row_id: int, column: str) -> None:
    """A keyed entry whose snapshot of the row lacks `column`, as one written before it."""
    with database.transaction() as session:
        audit.lock_chain(session)
        snap = audit.snapshot(session.get(model, row_id))
        del snap[column]
        audit.append(
            session, actor="migration-test", action="update", entity_type=ENTITY_TYPE[model],
            entity_id=row_id, old=None, new=snap,
        )  # fmt: skip


def _verify(database) -> audit.Verification:
    with database.reading() as session:
        return audit.verify(session)


def test_an_observation_from_before_the_note_column_verifies_until_changed(
    database, admin, nurse
) -> None:
    with database.transaction() as session:
        p = patient(session, admin)
        (obs_id,) = repo.add_observations(session, nurse, temperatures(p.id, 1))
    _as_if_recorded_before_the_column(database, Observation, obs_id, "note")
    _as_if_recorded_before_the_column(database, User, nurse.id, "locale")
    assert _verify(database).ok
    with database.engine.begin() as connection:  # a note written behind the application
        connection.execute(text("UPDATE observations SET note = 'x' WHERE id = :i"), {"i": obs_id})
    found = _verify(database)
    assert not found.ok
    assert any(f"observation {obs_id}" == b.entity for b in found.problems)


def test_a_late_column_does_not_excuse_another_change(database, admin, nurse) -> None:
    with database.transaction() as session:
        p = patient(session, admin)
        (obs_id,) = repo.add_observations(session, nurse, temperatures(p.id, 1))
    _as_if_recorded_before_the_column(database, Observation, obs_id, "note")
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE observations SET value = 41 WHERE id = :i"), {"i": obs_id})
    assert not _verify(database).ok
