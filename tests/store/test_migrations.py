"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, insert, inspect, select, update

from neurocart.config import get_settings
from neurocart.store import audit, migrate, repo
from neurocart.store.audit_keys import AuditKeyError
from neurocart.store.db import Database
from neurocart.store.models import (
    AuditEntry,
    Base,
    FeedMessage,
    IdempotencyRecord,
    IngestKey,
    TreatmentCourse,
)


def test_the_written_head_is_the_scripts_head() -> None:
    assert migrate.head() == migrate.HEAD == migrate.script_head()
    assert migrate.known(migrate.HEAD)
    assert migrate.known("0001")
    assert not migrate.known("9999")


def test_the_revision_is_read_as_alembic_reads_it(empty_db_url):
    def alembics() -> str | None:
        with db.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    db = Database.from_url(empty_db_url)
    assert migrate.current(db.engine) is None is alembics()
    migrate.upgrade(db.engine, "0002")
    assert migrate.current(db.engine) == "0002" == alembics()
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == migrate.HEAD == alembics()
    db.dispose()


def test_upgrade_head_matches_the_models(empty_db_url):
    db = Database.from_url(empty_db_url)
    assert migrate.current(db.engine) is None
    assert migrate.upgrade(db.engine) == migrate.head()
    assert set(inspect(db.engine).get_table_names()) == set(Base.metadata.tables) | {
        "alembic_version"
    }
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert migrate.upgrade(db.engine) == migrate.head()  # a second run is a no-op
    with db.transaction() as session:  # and the migrated schema takes writes
        repo.create_user(session, None, username="a", password_hash="h", role="admin")
    db.dispose()


def _feed_rows_at_0010(db: Database) -> None:
    """A database at revision 0010 holding what the feeds wrote before they were audited."""
    assert migrate.upgrade(db.engine, "0010") == "0010"
    at = datetime(2025, 6, 3, 8, tzinfo=UTC)
    with db.engine.begin() as connection:
        connection.execute(
            insert(IngestKey),
            [{"system": "hl7:HOSP_A", "key_hash": f"{n:064x}", "entity_type": "observation",
              "root_id": n, "first_message": "LIS-1", "first_seen_at": at} for n in (1, 2, 3)],
        )  # fmt: skip
        connection.execute(
            insert(FeedMessage).values(
                system="hl7:HOSP_A", control_id="LIS-1", message_type="ORU^R01", status="accepted",
                reason=None, ack_code="AA", ack="MSH|...", message="MSH|...", received_at=at,
            )
        )  # fmt: skip


def test_upgrade_records_the_feed_rows_already_stored(empty_db_url):
    """0011 adds no column: it puts the feeds' existing rows under the chain, so the upgraded
    database verifies, and a key removed after the upgrade is found."""
    db = Database.from_url(empty_db_url)
    _feed_rows_at_0010(db)
    assert migrate.upgrade(db.engine) == migrate.head()
    with db.reading() as session:
        assert audit.verify(session).ok
        actors = set(session.scalars(select(AuditEntry.actor)))
    assert actors == {"migration:0011"}
    with db.engine.begin() as connection:
        connection.execute(delete(IngestKey).where(IngestKey.root_id == 2))
    with db.reading() as session:
        problems = [str(p) for p in audit.verify(session).problems]
    assert len(problems) == 1, problems
    assert "ingest_key 2" in problems[0]
    db.dispose()


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_upgrade_of_feed_rows_without_the_audit_key_says_what_is_missing(empty_db_url):
    db = Database.from_url(empty_db_url)
    _feed_rows_at_0010(db)
    _upgrade_refused_without_a_key(db, "4 feed messages and ingest keys")
    assert migrate.current(db.engine) == "0010"  # nothing half done: upgrade again with a key
    assert migrate.upgrade(db.engine) == migrate.head()
    db.dispose()


def _idempotency_rows_at_0011(db: Database) -> None:
    """A database at revision 0011 holding first answers stored before they were audited."""
    assert migrate.upgrade(db.engine, "0011") == "0011"
    at = datetime(2025, 6, 3, 8, tzinfo=UTC)
    with db.transaction() as session:
        user = repo.create_user(session, None, username="nurse", password_hash="h", role="nurse")
    with db.engine.begin() as connection:
        connection.execute(
            insert(IdempotencyRecord),
            [{"user_id": user.id, "key": f"k-{n}", "request_hash": f"{n:064x}",
              "status_code": 201, "response": f'{{"id":{n}}}', "created_at": at,
              "expires_at": at + timedelta(hours=24)} for n in (1, 2)],
        )  # fmt: skip


def test_upgrade_records_the_idempotency_records_already_stored(empty_db_url):
    """0012 adds no column: it puts the stored first answers under the chain, so the upgraded
    database verifies, and an answer edited after the upgrade is found."""
    db = Database.from_url(empty_db_url)
    _idempotency_rows_at_0011(db)
    with db.reading() as session:  # the head's verify already expects them in the chain
        assert not audit.verify(session).ok
    assert migrate.upgrade(db.engine) == migrate.head()
    with db.reading() as session:
        assert audit.verify(session).ok
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "idempotency_key")
        ).all()
    assert [(e.actor, len(audit.batch_rows(e.new))) for e in entries] == [("migration:0012", 2)]
    with db.engine.begin() as connection:
        connection.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "k-2")
                           .values(response='{"id":7}'))  # fmt: skip
    with db.reading() as session:
        problems = [str(p) for p in audit.verify(session).problems]
    assert len(problems) == 1, problems
    assert "idempotency_key 2" in problems[0]
    db.dispose()


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_upgrade_of_idempotency_records_without_the_audit_key_says_what_is_missing(empty_db_url):
    db = Database.from_url(empty_db_url)
    _idempotency_rows_at_0011(db)
    _upgrade_refused_without_a_key(db, "revision 0012 records the 2 idempotency")
    assert migrate.current(db.engine) == "0011"
    assert migrate.upgrade(db.engine) == migrate.head()
    db.dispose()


def _upgrade_refused_without_a_key(db: Database, match: str) -> None:
    """`migrate.upgrade` without any audit key refuses with AuditKeyError matching `match`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NEUROCART_AUDIT_KEY", raising=False)
        patch.delenv("NEUROCART_AUDIT_KEYRING", raising=False)
        get_settings.cache_clear()
        try:
            with pytest.raises(AuditKeyError, match=match):
                migrate.upgrade(db.engine)
        finally:
            get_settings.cache_clear()


def _courses_at_0014(db: Database) -> list[int]:
    """A database at revision 0014 with two courses dated on the UTC clock, as neurocart dated
    them then (written here with the site's clock on UTC): one infused at 07:30 in Beijing
    (23:30 UTC the day before), one at 15:00 (the same date on both clocks)."""
    assert migrate.upgrade(db.engine, "0014") == "0014"
    with db.transaction() as session:
        user = repo.create_user(session, None, username="h", password_hash="x", role="admin")
        pid = repo.create_patient(session, user, repo.PatientIn("NC-1", "ERL", "male", "ms")).id
        ids = [
            repo.create_course(session, user, repo.CourseIn(pid, "X", infusion_at=at)).id
            for at in (
                datetime(2025, 3, 2, 23, 30, tzinfo=UTC),
                datetime(2025, 3, 3, 7, tzinfo=UTC),
            )
        ]
    with db.reading() as session:
        dates = [session.get(TreatmentCourse, i).infusion_date for i in ids]
    assert dates == [date(2025, 3, 2), date(2025, 3, 3)]
    return ids


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_upgrade_puts_the_infusion_dates_on_the_site_clock(empty_db_url, site_zone):
    """0015 moves the morning infusion to 3 March, its date in Beijing, as an audited update;
    the afternoon one is already right. The instants do not move and the chain verifies.
    (A site that moves its zone later runs the same function: `neurocart db redate-infusions`.)"""
    db = Database.from_url(empty_db_url)
    morning, afternoon = _courses_at_0014(db)
    with db.reading() as session:
        seq = audit.head(session)[0]
    site_zone("Asia/Shanghai")
    assert migrate.upgrade(db.engine) == migrate.head()
    with db.reading() as session:
        courses = {c.id: c for c in session.scalars(select(TreatmentCourse))}
        entries = session.scalars(select(AuditEntry).where(AuditEntry.seq > seq)).all()
        assert audit.verify(session).ok
    assert courses[morning].infusion_date == date(2025, 3, 3)
    assert courses[morning].infusion_at == datetime(2025, 3, 2, 23, 30, tzinfo=UTC)
    assert courses[afternoon].infusion_date == date(2025, 3, 3)
    assert [(e.actor, e.action, e.entity_id) for e in entries] == [
        ("migration:0015", "update", morning)
    ]
    db.dispose()


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_upgrade_that_moves_infusion_dates_needs_the_audit_key(empty_db_url, site_zone):
    db = Database.from_url(empty_db_url)
    morning, _ = _courses_at_0014(db)
    site_zone("Asia/Shanghai")
    _upgrade_refused_without_a_key(db, "revision 0015 moves the infusion date of 1 courses")
    assert migrate.current(db.engine) == "0014"
    with db.reading() as session:
        assert session.get(TreatmentCourse, morning).infusion_date == date(2025, 3, 2)
    assert migrate.upgrade(db.engine) == migrate.head()
    db.dispose()
