"""Tables of the accounts' security state: sessions, failed logins, idempotency keys.

They live in the database, not in a process's memory, so several `neurocart serve` processes
on one database agree: a session ended in one is ended in all, a lockout counted by one holds
in the others, and a retried request reaches whichever process and still finds its first
answer. None of them is clinical data; what happens to them is written to the audit log by
the services (logins, lockouts, logouts, revocations) where a regulator expects it.

- `AuthSession`: one login. A token names its session id (`sid`); the token is honoured only
  while the row is not ended, was used within the idle timeout and is younger than the
  absolute lifetime. Ending (logout, revocation, deactivation) stamps `ended_at`.
- `LoginFailure`: one wrong password (or unknown user), by username and client address; the
  throttle counts the rows inside its window and old rows are purged.
- `IdempotencyRecord`: the first answer to a POST sent with an ``Idempotency-Key`` header,
  stored in the very transaction of the write it answers. Unlike the other two it decides
  what is stored (a retry finding it is not stored again), so it is defined with the audited
  tables in `neurocart.store.models` and written through `neurocart.services.idempotency`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from neurocart.store.models import Base
from neurocart.store.models import IdempotencyRecord as IdempotencyRecord  # the one definition
from neurocart.store.types import UTCDateTime


class AuthSession(Base):
    """One login of one user (API token or web cookie), until it ends or times out."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    """Random id carried in the signed token (never reused)."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(8))
    """``api`` (bearer token) or ``web`` (cookie)."""
    client: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """The absolute end, whatever the activity."""
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))
    """``logout``, ``revoked``, ``deactivated``."""

    __table_args__ = (Index("ix_auth_sessions_user", "user_id"),)


class LoginFailure(Base):
    """One refused login: which username was tried, from where, when."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_client_at", "client", "at"),
    )
