"""The database handle the faces use: an engine, sessions, and one way to run a transaction.

Repository functions (neurocart.store.repo) never commit; the caller owns the transaction:

    db = Database.from_url("sqlite:///neurocart.db")
    with db.transaction() as session:
        repo.add_observation(session, user, item)   # committed on exit, rolled back on error
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Engine
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


@lru_cache(maxsize=1)
def get_database() -> Database:
    """The process-wide database from Settings.database_url."""
    return Database.from_url(get_settings().database_url)
