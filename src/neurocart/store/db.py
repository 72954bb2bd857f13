"""The database handle the faces use: an engine, sessions, and one way to run a transaction.

Repository functions (neurocart.store.repo) never commit; the caller owns the transaction:

    db = Database.from_url("sqlite:///neurocart.db")
    with db.transaction() as session:
        repo.add_observation(session, user, item)   # committed on exit, rolled back on error
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from neurocart.config import get_settings
from neurocart.store.engine import make_engine, read_only


@dataclass(frozen=True)
class Database:
    """An engine plus its session factories (writer: the default; reader: never queues)."""

    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    on_journal: list[Callable[[], None]] = field(default_factory=list)
    """Called after every committed transaction that appended to the audit journal (the
    monitor leader's wake-up); on PostgreSQL such a commit also NOTIFYs `JOURNAL_CHANNEL`,
    so the leader hears of writes made by other processes too."""

    def __post_init__(self) -> None:
        event.listen(self.sessions, "before_commit", self._before_commit)
        event.listen(self.sessions, "after_commit", self._after_commit)
        event.listen(self.sessions, "after_rollback", _forget)

    def _before_commit(self, session: Session) -> None:
        from neurocart.store import audit

        if audit.holds_chain(session):
            session.info[_WROTE] = True
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SELECT pg_notify(:c, '')"), {"c": JOURNAL_CHANNEL})

    def _after_commit(self, session: Session) -> None:
        callbacks = session.info.pop(AFTER_COMMIT, ())
        wrote = session.info.pop(_WROTE, False)
        for callback in callbacks:
            callback()
        if wrote:
            for listener in list(self.on_journal):
                listener()

    @classmethod
    def from_url(cls, url: str | URL, *, echo: bool = False) -> Database:
        engine = make_engine(url, echo=echo)
        return cls(
            engine=engine,
            sessions=sessionmaker(engine, expire_on_commit=False),
            readers=sessionmaker(read_only(engine), expire_on_commit=False),
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction: committed if the block succeeds, else rolled back."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only (on SQLite it does not take the write lock)."""
        with self.readers() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


JOURNAL_CHANNEL = "neurocart_journal"
AFTER_COMMIT = "neurocart.after_commit"
"""Session.info key: callables run once the session's transaction committed."""
_WROTE = "neurocart.wrote_journal"


def _forget(session: Session) -> None:
    session.info.pop(AFTER_COMMIT, None)
    session.info.pop(_WROTE, None)


@lru_cache(maxsize=1)
def get_database() -> Database:
    """The process-wide database from Settings.database_url."""
    return Database.from_url(get_settings().database_url)
