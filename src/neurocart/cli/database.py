"""Opening the database for a command: settings with `--database-url`, schema brought up to date.

Schema policy: an SQLite file behind the newest migration (or new) is upgraded
automatically — it is the embedded single-site default, owned by this process, and
`neurocart demo` must need nothing else. A PostgreSQL database behind is refused with a
message to run `neurocart db upgrade`: a shared database's schema changes when its operator
decides, not when some server restarts. ``upgrade=True`` forces the upgrade on any backend,
``upgrade=False`` never upgrades (and refuses a database that is behind).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from neurocart.cli.console import err, fail
from neurocart.config import Settings, get_settings
from neurocart.i18n import error_text, message_text
from neurocart.i18n import gettext as _
from neurocart.store import Database, migrate
from neurocart.store.audit_keys import AuditKeyError


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names; None for another backend, an in-memory database, a
    ``file:`` URI or a URL that does not parse."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name.startswith(("file:", ":memory:")):
        return None
    return Path(name)


def settings_with(database_url: str | None) -> Settings:
    """The settings, with `database_url` (a `--database-url` option) applied when given."""
    base = get_settings()
    if database_url is None:
        return base
    return Settings(**(base.model_dump() | {"database_url": database_url}))


def open_database(database_url: str | None, *, upgrade: bool | None) -> tuple[Settings, Database]:
    """Settings with `database_url` applied, and the database at the newest schema.

    Raises typer.Exit (via `fail`) for an unusable URL or a schema it may not bring up to date.
    """
    settings = settings_with(database_url)
    try:
        database = Database.from_url(settings.database_url)
    except ValueError as exc:
        said = message_text(str(exc), "neurocart.store.engine")
        raise fail(_("database_url: {exc}").format(exc=said)) from None
    prepare_schema(database, upgrade)
    return settings, database


def prepare_schema(database: Database, upgrade: bool | None) -> str | None:
    """Bring the schema to the newest revision if allowed (see module docstring); the revision.

    Raises typer.Exit (via `fail`) when the database is behind and may not be upgraded, or is
    ahead of this version of neurocart.
    """
    engine = database.engine
    where = engine.url.render_as_string(hide_password=True)
    head = migrate.head()
    try:
        current = migrate.current(engine)
    except SQLAlchemyError as exc:
        raise fail(
            _("cannot open {where}: {error}").format(where=where, error=str(exc).splitlines()[0])
        ) from None
    if current == head:
        return current
    if current is not None and not migrate.known(current):
        raise fail(
            _(
                "database {where} is at revision {current}, unknown to this neurocart (newest "
                "{head}): upgrade neurocart"
            ).format(where=where, current=current, head=head)
        )
    automatic = engine.dialect.name == "sqlite" if upgrade is None else upgrade
    if not automatic:
        raise fail(
            _(
                "database {where} is at revision {current}, not {head}: run `neurocart db upgrade` "
                "first"
            ).format(where=where, current=current or _("(empty)"), head=head)
        )
    reached = migrate_to(engine, where)
    err.print(
        _("database {where} upgraded to revision {reached}").format(where=where, reached=reached),
        highlight=False,
    )
    return reached


def migrate_to(engine: Engine, where: str, revision: str = "head") -> str | None:
    """Apply the migrations up to `revision`; a failure is one line naming the database (a
    database error's first line, or the audit key a signing migration needs)."""
    try:
        return migrate.upgrade(engine, revision)
    except SQLAlchemyError as exc:
        raise fail(
            _("cannot migrate {where}: {error}").format(where=where, error=str(exc).splitlines()[0])
        ) from None
    except AuditKeyError as exc:  # a migration that signs audit entries (0011)
        raise fail(
            _("cannot migrate {where}: {error}").format(where=where, error=error_text(exc))
        ) from None
