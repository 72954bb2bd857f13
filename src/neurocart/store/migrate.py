"""Apply the Alembic migrations from the installed package (no alembic.ini needed)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

SCRIPT_LOCATION = "neurocart.store:migrations"


def _script_config() -> Config:
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
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current(engine)


def current(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(_script_config()).get_current_head()


def known(revision: str) -> bool:
    """Whether `revision` is one this package ships (False for a newer neurocart's)."""
    try:
        return ScriptDirectory.from_config(_script_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several types for an unknown revision
        return False
