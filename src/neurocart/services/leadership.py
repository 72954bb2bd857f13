"""Who leads the monitor: exactly one process at a time, and a standby ready to take over.

- **PostgreSQL** (any number of API processes on one database): the leader holds a
  session-level advisory lock on a connection of its own. When the process dies, even by
  SIGKILL, the server drops the connection and with it the lock; a standby that retries every
  `RETRY_SECONDS` takes over. The lock alone cannot stop a deposed leader that has not yet
  noticed (a stalled process, a network partition): its writes are fenced by the epoch of
  the checkpoint row (`neurocart.services.monitoring`).
- **SQLite** (one server per file): the process that serves the file is the leader; a second
  server on the same file is refused at start by `serve_lock`.

`Listener` relays PostgreSQL notifications (a commit appended to the journal; the leader
stored alert actions) to a callback, so a leader wakes at once for a write made by another
process and every process pushes alerts to its own SSE clients.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from sqlalchemy.engine import URL

if TYPE_CHECKING:  # psycopg is imported where a PostgreSQL connection is made: a server on
    import psycopg  # SQLite never loads it, and importing the app stays light

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = 0x6E63_6D6F_6E69  # "ncmoni": the one monitor leader lock
RETRY_SECONDS = 2.0
"""How often a standby tries to become the leader (a failover takes at most about this
plus the rebuild)."""


class Lease(Protocol):
    """The right to lead the monitor."""

    def acquire(self) -> bool:
        """Try to become (or stay) the leader; True while this process leads."""
        ...

    def release(self) -> None: ...


class LocalLease:
    """One process per database file: it always leads."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def libpq_url(url: URL) -> str:
    """A SQLAlchemy PostgreSQL URL as the connection string psycopg takes."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgLease:
    """A session-level advisory lock on a dedicated autocommit connection."""

    def __init__(self, url: URL) -> None:
        self.conninfo = libpq_url(url)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False

    def acquire(self) -> bool:
        import psycopg

        try:
            if self._conn is None or self._conn.closed:
                self._held = False
                self._conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
            if self._held:
                self._conn.execute("SELECT 1")  # still connected, so still holding it
                return True
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)
            ).fetchone()
            self._held = bool(row and row[0])
        except psycopg.Error as exc:
            log.warning("monitor: leader lock connection failed (%s)", type(exc).__name__)
            self.release()
        return self._held

    def release(self) -> None:
        import psycopg

        self._held = False
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


class Listener:
    """LISTEN on some channels in a thread of its own; each channel's callback for each of
    its notifications (and every callback once per connection, for what was committed while
    not listening)."""

    def __init__(self, url: URL, callbacks: Mapping[str, Callable[[], None]]) -> None:
        self.conninfo = libpq_url(url)
        self.callbacks = dict(callbacks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neurocart-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    for channel in self.callbacks:
                        conn.execute(f"LISTEN {channel}")
                    for callback in self.callbacks.values():
                        callback()
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=0.5):
                            if (wake := self.callbacks.get(notice.channel)) is not None:
                                wake()
            except psycopg.Error as exc:
                log.warning("monitor: notification connection lost (%s)", type(exc).__name__)
                self._stop.wait(1.0)


SERVED = (
    "{path} is already served by {holder}; one server per SQLite file (use PostgreSQL for several)"
)
ANOTHER_PROCESS = "another process"
HOLDER = "process {pid}"
MESSAGES = (SERVED, ANOTHER_PROCESS, HOLDER)
"""Why a second server is refused, as message keys (like `neurocart.store.errors.MESSAGES`)."""


class AlreadyServingError(RuntimeError):
    """Another server process already serves this SQLite file."""


def serve_lock(database_file: Path) -> IO[str]:
    """Hold an exclusive lock beside an SQLite database for the life of the process.

    SQLite has no place for a leader lock that every process sees and that dies with its
    holder, so one server per file is the rule: a second `neurocart serve` on the same file
    gets AlreadyServingError at once instead of a monitor that disagrees with the first.
    """
    path = database_file.with_name(database_file.name + ".serving")
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or ANOTHER_PROCESS
        handle.close()
        raise AlreadyServingError(SERVED.format(path=database_file, holder=holder)) from None
    handle.seek(0)
    handle.truncate()
    handle.write(HOLDER.format(pid=os.getpid()) + "\n")
    handle.flush()
    return handle
