"""`neurocart demo`: build demo.db, serve the ward board, and keep the acute patients alive.

Demo only: synthetic patients, well-known passwords, a random token key per run.
"""

from __future__ import annotations

import contextvars
import os
import secrets
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from rich.table import Table

from neurocart.cli.console import err, fail, out
from neurocart.config import get_settings
from neurocart.demo import DEFAULT_SEED, DEMO_PASSWORD
from neurocart.i18n import error_text, format_datetime, joined
from neurocart.i18n import gettext as _

if TYPE_CHECKING:  # building and streaming a ward simulate it (pandas): loaded by the command
    from neurocart.demo.build import DemoDatabase


def _demo_audit_key(db: Path) -> None:
    """Unless an audit key is configured, sign the demo's audit log with a generated key
    kept next to the demo file (``<db>.audit-keys``) and checkpoint its head into
    ``<db>.checkpoints/`` (a rebuilt demo starts a new checkpoint file): the demo runs the
    same audit as a real deployment, `neurocart audit verify` included."""
    from neurocart.store.audit_keys import append_key

    settings = get_settings()
    if settings.audit_key is None and settings.audit_keyring is None:
        keyring = db.with_name(db.name + ".audit-keys")
        if not keyring.exists():
            append_key(keyring, "demo")
        os.environ["NEUROCART_AUDIT_KEYRING"] = str(keyring.resolve())
    if settings.audit_checkpoint_dir is None:
        os.environ["NEUROCART_AUDIT_CHECKPOINT_DIR"] = str(
            db.with_name(db.name + ".checkpoints").resolve()
        )
    get_settings.cache_clear()


def _forget_old_checkpoints(db: Path) -> None:
    """A freshly built demo has a new chain: the checkpoints of the one it replaced go."""
    from neurocart.store.checkpoints import checkpoint_file

    directory = get_settings().audit_checkpoint_dir
    if directory is not None:
        checkpoint_file(directory, f"sqlite:///{db.resolve()}").unlink(missing_ok=True)


def logins(built: DemoDatabase) -> Table:
    """A table of the demo users and their roles, printed at start so a visitor can log in."""
    table = Table(
        title=_("demo logins (demo only)"),
        caption=_("password for every user: {password}").format(password=DEMO_PASSWORD),
    )
    table.add_column(_("username"))
    table.add_column(_("role"))
    for role, name in built.users.items():
        table.add_row(name, _(role.value))
    return table


def _demo_with_added_users(path: Path) -> bool:
    """An earlier demo database (every demo user in it) to which someone added users."""
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as connection:
            names = {row[0] for row in connection.execute("SELECT username FROM users")}
    except sqlite3.Error:
        return False
    from neurocart.demo.build import demo_usernames

    return set(demo_usernames().values()) <= names


def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="start the server (or only build the db)")
    ] = True,
    db: Annotated[Path, typer.Option("--db", help="SQLite file (replaced if an earlier demo)")] = (
        Path("demo.db")
    ),
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    patients: Annotated[int, typer.Option(min=1, help="simulated patients")] = 40,
    seed: Annotated[int, typer.Option(help="same seed, same ward")] = DEFAULT_SEED,
    acute_now: Annotated[
        int | None, typer.Option("--acute-now", min=0, help="patients in days 0–14 (default 6)")
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.001, help="simulated seconds per real second")
    ] = 60.0,
    monitor: Annotated[
        bool,
        typer.Option("--monitor/--no-monitor", help="run monitoring over the history as it loads"),
    ] = True,
    vitals_minutes: Annotated[
        float, typer.Option(min=1, help="simulated minutes between streamed vital sets")
    ] = 15.0,
) -> None:
    """Build a synthetic ward in an SQLite file and serve it with live vitals (demo only)."""
    from neurocart.cli.simulate import summary
    from neurocart.demo.build import NotADemoDatabaseError, build_demo, remove_database

    if acute_now is not None and acute_now > patients:
        raise fail(
            _("--acute-now: at most --patients ({patients}), got {acute_now}").format(
                patients=patients, acute_now=acute_now
            )
        )
    started = time.perf_counter()
    _demo_audit_key(db)
    try:
        built = build_demo(db, patients=patients, seed=seed, acute_now=acute_now, monitor=monitor)
    except NotADemoDatabaseError as exc:
        hint = _(
            "if it is an earlier demo in which users were added (the admin page), delete it "
            "(rm {db}) or pass --db with another file; a real record is never replaced"
        ).format(db=db)
        refused = _("--db: {exc}; {hint}").format(exc=error_text(exc), hint=hint)
        if not (sys.stdin.isatty() and _demo_with_added_users(db)):
            raise fail(refused) from None
        question = _(
            "{db} is an earlier demo with users added on the admin page. Replace it with a "
            "fresh demo?"
        ).format(db=db)
        if not typer.confirm(question, default=False):
            raise fail(refused) from None
        remove_database(db)
        built = build_demo(db, patients=patients, seed=seed, acute_now=acute_now, monitor=monitor)
    _forget_old_checkpoints(db)
    out.print(summary(built.sim, built.report))
    out.print(
        _(
            "{path} built in {seconds:.1f} s: {observations:,} observations, {assessments:,} "
            "assessments, {events:,} events; in days 0–14 now: {acute}"
        ).format(
            path=built.path,
            seconds=time.perf_counter() - started,
            observations=built.report.observations,
            assessments=built.report.assessments,
            events=built.report.events,
            acute=joined(built.sim.acute_now()) or _("nobody"),
        ),
        highlight=False,
    )
    out.print(logins(built))
    if serve:
        run_server(built, host=host, port=port, speed=speed, vitals_minutes=vitals_minutes)


def run_server(
    built: DemoDatabase, *, host: str, port: int, speed: float, vitals_minutes: float
) -> None:
    """Serve the app on the demo clock and stream the acute patients until Ctrl-C."""
    from datetime import timedelta

    from neurocart.api import access_log, create_app
    from neurocart.demo.build import settings_for
    from neurocart.demo.clock import DemoClock
    from neurocart.demo.stream import DemoStreamer
    from neurocart.runtime import Runtime
    from neurocart.services.leadership import AlreadyServingError, serve_lock

    settings = settings_for(built.path, get_settings())
    settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(32)})
    try:
        lock = serve_lock(built.path)
    except AlreadyServingError as exc:
        raise fail(_("--db: {exc}").format(exc=error_text(exc))) from None
    clock = DemoClock(built.sim.now, speed)
    # one clock for the pages, the monitor's escalation ticks, the streamed facts and the CLI
    clock.publish(built.path)
    runtime = Runtime.build(settings, clock=clock.now)
    app = create_app(runtime=runtime)
    access_log.install(app.routes)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
    )
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    stop = threading.Event()
    step = timedelta(minutes=vitals_minutes)

    def stream() -> None:
        while not server.started and not stop.is_set():
            time.sleep(0.05)
        if stop.is_set():
            return
        out.print(
            _(
                "\n[bold]neurocart demo at {url}[/]  (log in as neurologist.demo / "
                "{password})\ndemo clock: {speed:g} simulated s per real s, starting "
                "{start}; vitals every {vitals_minutes:g} simulated min for "
                "{n} acute patients. Ctrl-C stops."
            ).format(
                url=url,
                password=DEMO_PASSWORD,
                speed=speed,
                start=format_datetime(clock.start),
                vitals_minutes=vitals_minutes,
                n=len(built.sim.acute_now()),
            ),
            highlight=False,
        )
        streamer = DemoStreamer(
            url, built.sim, clock, step=step, log=lambda m: err.print(m, highlight=False)
        )
        try:
            streamer.run(stop)
        finally:
            streamer.close()

    # the command's language (a context variable) goes with the thread, which starts empty
    language = contextvars.copy_context()
    thread = threading.Thread(
        target=language.run, args=(stream,), name="demo-streamer", daemon=True
    )
    thread.start()
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind
        raise fail(
            _("--port: cannot serve on {host}:{port} (in use?)").format(host=host, port=port)
        ) from None
    finally:
        stop.set()
        thread.join(timeout=5)
        clock.stop(built.path)
        lock.close()
    out.print(_("demo stopped"), highlight=False)
