"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from neurocart.store import migrate, repo
from neurocart.store.db import Database
from neurocart.store.models import Base


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
