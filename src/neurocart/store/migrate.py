"""Apply the Alembic migrations from the installed package (no alembic.ini needed).

Whether a database is up to date is answered without Alembic: the newest revision is
written here (`HEAD`, which tests hold to the migration scripts) and the database's is read
from Alembic's version table. Alembic itself (a fifth of a second to import, with Mako and
every dialect's DDL) is imported only to migrate, or to look up a revision this package does
not have at its head — so `neurocart serve` on a current database does not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "neurocart.store:migrations"
HEAD = "0015"
"""The newest revision shipped with this package (the head of `migrations/versions`; a test
holds the two equal, so a new migration updates this line)."""
VERSION_TABLE = "alembic_version"
"""Where Alembic records the revision a database is at (its default; env.py keeps it)."""


def _script_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def alembic_config(engine: Engine) -> Config:
    """An Alembic Config pointing at the packaged migrations, running on `engine`."""
    config = _script_config()
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to `revision`; returns the revision it is at afterwards."""
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current(engine)


def current(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database), read as Alembic reads
    it: the one row of its version table."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    if len(versions) > 1:  # the packaged migrations are one line: one head
        raise ValueError(f"the database is at several revisions: {sorted(v[0] for v in versions)}")
    return versions[0][0] if versions else None


def head() -> str:
    """The newest revision shipped with this package."""
    return HEAD


def script_head() -> str | None:
    """The head of the packaged migration scripts, as Alembic reads them (what `HEAD` says)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_script_config()).get_current_head()


def known(revision: str) -> bool:
    """Whether `revision` is one this package ships (False for a newer neurocart's)."""
    if revision == HEAD:
        return True
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory.from_config(_script_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several types for an unknown revision
        return False
