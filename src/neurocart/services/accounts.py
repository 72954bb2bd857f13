"""Accounts: logins with a throttle, server-side sessions, password rules, e-signatures.

Every state here is in the database (neurocart.store.accounts), so several server processes
on one database enforce the same lockout and honour the same logouts.

Logins. A wrong password or an unknown username is one `LoginFailure` row (username, client
address, time) and one audit entry (``account`` / ``login_failed``). A username with
`Settings.login_max_failures` failures inside `Settings.login_window_seconds`, or an address
with `login_max_failures_per_address`, is locked out: `login` raises `LockedOutError` with the
seconds until the oldest counted failure ages out of the window, before the password is even
checked (so a correct guess during the lockout does not get in). The failure that starts a
lockout writes an ``account`` / ``lockout`` audit entry. A successful login forgets the
username's failures (not the address's); so does an administrator's `unlock` (audited), for
a user who must not wait for the window to pass.

Sessions. A login opens an `AuthSession` whose random `sid` goes into the signed token
(neurocart.security.tokens). `check_session` honours a token only while its row has not ended,
was used within `Settings.session_idle_minutes` and is younger than `token_ttl_minutes`.
Logout, an admin's revocation and a deactivation end the rows (audited); a replayed token or
cookie then gets 401. The last use is written at most once per `TOUCH_SECONDS` (or a quarter
of the idle timeout), so reading pages does not become a write per request.

Signatures. `sign` re-checks the signer's password and stores a `Signature` row (signer,
meaning, time, the signed row), audited, in the caller's transaction, for the acts 21 CFR
Part 11 wants signed: acknowledging a critical alert, correcting or retracting a fact,
signing an assessment.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from neurocart.config import MIN_SECRET_KEY_BYTES, Settings
from neurocart.security import hash_password, issue_token, read_token, verify_password
from neurocart.security.tokens import TokenError
from neurocart.services.errors import (
    PASSWORD_TOO_SHORT,
    InvalidInputError,
    Problem,
    ServiceError,
)
from neurocart.store import audit, repo
from neurocart.store.accounts import AuthSession, LoginFailure
from neurocart.store.db import Database
from neurocart.store.models import Signature, User
from neurocart.store.repo import KEEP, Keep, get_user_by_username

ACCOUNT_ENTITY = "account"
"""Entity type of the audit entries of logins, lockouts and sessions (entity id: the user's id,
0 for a username that does not exist)."""
LOGIN_ACTOR = "login"
"""Actor of a refused login's audit entry: nobody was authenticated."""
TOUCH_SECONDS = 60
MEANINGS: tuple[str, ...] = ("reviewed", "approved", "corrected")
"""What a signature means (21 CFR 11.50(a)(3))."""
CRITICAL_GRADE = 3.0
"""An alert of this grade or more (CRS or ICANS grade 3, CTCAE grade 3) is critical."""


def utc_now() -> datetime:
    """The real time, in UTC: the default clock of the faces (tests inject another)."""
    return datetime.now(UTC)


def now_for(state: object) -> datetime:
    """The time sessions are judged by in an app: its ``state.auth_clock`` when one is set
    (tests), else the real time. Never the runtime's clock: the demo runs that one fast, and
    sessions must not age with it."""
    clock = getattr(state, "auth_clock", None)
    return clock() if callable(clock) else utc_now()


# --- errors -------------------------------------------------------------------------------


class AuthenticationError(ServiceError):
    """Not authenticated: a wrong password, an unknown user, or a session that ended.

    `field` is what the faces name (``password``, ``authorization``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class LockedOutError(ServiceError):
    """Too many failed logins for this username or from this address: try again later."""

    def __init__(self, scope: str, retry_after: int) -> None:
        self.scope = scope
        self.retry_after = retry_after
        what = "this account" if scope == "user" else "this address"
        super().__init__(
            f"too many failed logins for {what}: try again in {retry_after} s "
            "(or ask an administrator)"
        )


class SignatureError(ServiceError):
    """A signature that is missing or does not verify; `field` names what is wrong."""

    def __init__(
        self, field: str, message: str, *, missing: bool = False, signer: User | None = None
    ) -> None:
        self.field = field
        self.missing = missing
        self.signer = signer
        """Who tried to sign with a wrong password (None when the signature was missing)."""
        super().__init__(message)


# --- settings checks ----------------------------------------------------------------------


def check_password(password: str, settings: Settings, field: str = "password") -> None:
    """InvalidInputError naming `field` when `password` is shorter than the setting."""
    if len(password) < settings.password_min_length:
        raise InvalidInputError(
            [Problem(field, PASSWORD_TOO_SHORT.format(n=settings.password_min_length))]
        )


def secret_key_problem(settings: Settings) -> str | None:
    """Why `settings.secret_key` must not sign tokens in production, or None when it may."""
    default = Settings.model_fields["secret_key"].default
    if settings.secret_key == default:
        return "is the published default"
    if len(settings.secret_key.encode("utf-8")) < MIN_SECRET_KEY_BYTES:
        return f"is shorter than {MIN_SECRET_KEY_BYTES} bytes"
    return None


# --- accounts -----------------------------------------------------------------------------


def create_account(
    session: Session,
    actor: User | None,
    settings: Settings,
    *,
    username: str,
    password: str,
    role: str,
) -> User:
    """A new user with an argon2 hash of `password` (checked against the length rule)."""
    check_password(password, settings)
    return repo.create_user(
        session, actor, username=username, password_hash=hash_password(password), role=role
    )


def change_account(
    session: Session,
    actor: User | None,
    settings: Settings,
    user_id: int,
    *,
    role: Any = KEEP,
    active: bool | Keep = KEEP,
    password: str | None = None,
) -> User:
    """Change role, active flag or password (length rule); a deactivation or a new password ends
    the user's sessions, so nobody keeps a way in that the change meant to close."""
    changes: dict[str, Any] = {"role": role, "active": active}
    if password is not None:
        check_password(password, settings)
        changes["password_hash"] = hash_password(password)
    user = repo.update_user(session, actor, user_id, **changes)
    if active is False:
        end_user_sessions(session, actor, user, reason="deactivated")
    elif password is not None:
        end_user_sessions(session, actor, user, reason="password")
    return user


# --- login --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedIn:
    """A successful login: the user, the signed token and when it expires at the latest."""

    user: User
    token: str
    expires_at: datetime


def _client(address: str | None) -> str:
    return (address or "unknown")[:64]


def _lockout(
    session: Session, settings: Settings, username: str, client: str, now: datetime
) -> LockedOutError | None:
    """The lockout in force for this username or address at `now`, if any."""
    since = now - timedelta(seconds=settings.login_window_seconds)
    for scope, column, value, limit in (
        ("user", LoginFailure.username, username, settings.login_max_failures),
        ("address", LoginFailure.client, client, settings.login_max_failures_per_address),
    ):
        times = list(
            session.scalars(
                select(LoginFailure.at)
                .where(column == value, LoginFailure.at > since, LoginFailure.at <= now)
                .order_by(LoginFailure.at.desc())
                .limit(limit)
            )
        )
        if len(times) >= limit:
            ends = times[-1] + timedelta(seconds=settings.login_window_seconds)
            return LockedOutError(scope, max(1, math.ceil((ends - now).total_seconds())))
    return None


def login(
    database: Database,
    username: str,
    password: str,
    *,
    settings: Settings,
    client: str | None,
    kind: str,
    now: datetime | None = None,
) -> LoggedIn:
    """Check the password (under the throttle) and open a session of `kind` (api, web).

    Raises LockedOutError (nothing checked, nothing written) or AuthenticationError (the
    failure is recorded and audited; one message whatever was wrong)."""
    now = now or utc_now()
    address = _client(client)
    with database.reading() as session:
        locked = _lockout(session, settings, username, address, now)
        user = get_user_by_username(session, username)
    if locked is not None:
        raise locked
    stored = user.password_hash if user is not None else None
    if not verify_password(password, stored) or user is None or not user.active:
        _record_failure(database, settings, username, address, user, now)
        raise AuthenticationError("password", "unknown user, wrong password, or deactivated user")
    with database.transaction() as session:
        audit.lock_chain(session)
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        token, row = _open(session, settings, user, kind, address, now)
        audit.append(
            session, actor=user.username, action="login", entity_type=ACCOUNT_ENTITY,
            entity_id=user.id, old=None, new={"kind": kind, "client": address, "session": row.id},
        )  # fmt: skip
    return LoggedIn(user, token, row.expires_at)


def _record_failure(
    database: Database,
    settings: Settings,
    username: str,
    client: str,
    user: User | None,
    now: datetime,
    *,
    action: str = "login_failed",
    end_sessions: bool = False,
) -> bool:
    """Record one failure (audited); True when it starts a lockout (which, with
    `end_sessions`, also ends the user's sessions)."""
    with database.transaction() as session:
        audit.lock_chain(session)
        purge_before = now - timedelta(seconds=settings.login_window_seconds)
        session.execute(delete(LoginFailure).where(LoginFailure.at <= purge_before))
        session.add(LoginFailure(username=username[:64], client=client, at=now))
        session.flush()
        entity_id = user.id if user is not None else 0
        record = {"username": username[:64], "client": client}
        audit.append(
            session, actor=LOGIN_ACTOR, action=action, entity_type=ACCOUNT_ENTITY,
            entity_id=entity_id, old=None, new=record,
        )  # fmt: skip
        locked = _lockout(session, settings, username[:64], client, now)
        if locked is not None:
            audit.append(
                session, actor=LOGIN_ACTOR, action="lockout", entity_type=ACCOUNT_ENTITY,
                entity_id=entity_id, old=None,
                new=record | {"scope": locked.scope, "seconds": locked.retry_after},
            )  # fmt: skip
            if end_sessions and user is not None and locked.scope == "user":
                end_user_sessions(session, None, user, reason="lockout", now=now)
        return locked is not None


def signature_failed(
    database: Database,
    settings: Settings,
    user: User,
    client: str | None,
    now: datetime | None = None,
) -> bool:
    """A signature whose password was wrong counts as a failed login of the signer (audited
    ``signature_failed``): someone at an unlocked workstation cannot guess the password
    through the signature prompt faster than through the login page. The failure that locks
    the username out also ends the user's sessions. True when it did."""
    return _record_failure(
        database, settings, user.username, _client(client), user, now or utc_now(),
        action="signature_failed", end_sessions=True,
    )  # fmt: skip


@dataclass(frozen=True)
class Unlocked:
    """What an administrator's unlock did: whether the username was locked out, and how many
    counted failures it cleared."""

    username: str
    was_locked: bool
    cleared: int


def locked_usernames(session: Session, settings: Settings, now: datetime | None = None) -> set[str]:
    """The usernames locked out at `now` by their own failed logins (`login_max_failures`
    inside the window, as `login` counts them), for the admin page's unlock button. A lockout
    of a client address is not any account's, so it is not here."""
    now = now or utc_now()
    since = now - timedelta(seconds=settings.login_window_seconds)
    query = (
        select(LoginFailure.username)
        .where(LoginFailure.at > since, LoginFailure.at <= now)
        .group_by(LoginFailure.username)
        .having(func.count() >= settings.login_max_failures)
    )
    return set(session.scalars(query))


def unlock(
    session: Session,
    actor: User | None,
    user: User,
    settings: Settings,
    *,
    now: datetime | None = None,
    actor_name: str | None = None,
) -> Unlocked:
    """Lift the lockout of `user` before its window passes: the username's failed logins
    stop counting (their rows are removed, as a successful login removes them), and the act
    is audited (``account`` / ``unlock``: who, whether it was locked, how many failures) in
    the caller's transaction. The failures themselves stay in the audit log. A lockout of a
    client *address* (a password spray) is not lifted: it is not the account's.

    `actor_name` names an actor that is not a user account (``cli:<os user>``)."""
    audit.lock_chain(session)
    was_locked = user.username in locked_usernames(session, settings, now)
    result = session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    cleared = int(getattr(result, "rowcount", 0) or 0)
    name = actor_name or (actor.username if actor is not None else "system")
    audit.append(
        session, actor=name, action="unlock", entity_type=ACCOUNT_ENTITY, entity_id=user.id,
        old=None, new={"username": user.username, "was_locked": was_locked, "failures": cleared},
    )  # fmt: skip
    return Unlocked(user.username, was_locked, cleared)


# --- sessions -----------------------------------------------------------------------------


def _open(
    session: Session, settings: Settings, user: User, kind: str, client: str, now: datetime
) -> tuple[str, AuthSession]:
    lifetime = timedelta(minutes=settings.token_ttl_minutes)
    row = AuthSession(
        sid=secrets.token_urlsafe(24),
        user_id=user.id,
        kind=kind,
        client=client,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    token = issue_token(
        user.username, user.role.value, now, secret=settings.secret_key, ttl=lifetime,
        session_id=row.sid,
    )  # fmt: skip
    return token, row


def open_session(
    session: Session,
    settings: Settings,
    user: User,
    *,
    kind: str = "api",
    client: str | None = None,
    now: datetime | None = None,
) -> str:
    """A token for a session of `user` opened in the caller's transaction (no password check:
    for a face that authenticated the user itself, and for tests)."""
    token, _ = _open(session, settings, user, kind, _client(client), now or utc_now())
    return token


@dataclass(frozen=True)
class Authenticated:
    """Who a token authenticates, and which session it belongs to."""

    user: User
    session_id: str


def check_session(
    database: Database, settings: Settings, token: str, now: datetime | None = None
) -> Authenticated:
    """The active user whose live session `token` names; AuthenticationError (field
    ``authorization``) saying why not: bad token, no session, ended, idle, expired, inactive."""
    now = now or utc_now()
    try:
        claims = read_token(token, now, secret=settings.secret_key)
    except TokenError as exc:
        raise AuthenticationError("authorization", str(exc)) from None
    if claims.session_id is None:
        raise AuthenticationError("authorization", "the token names no session: log in again")
    with database.reading() as session:
        found = session.execute(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.sid == claims.session_id)
        ).first()
    if found is None:
        raise AuthenticationError("authorization", "unknown session: log in again")
    row, user = found
    if row.ended_at is not None:
        raise AuthenticationError("authorization", f"the session has ended ({row.end_reason})")
    if now >= row.expires_at:
        raise AuthenticationError("authorization", "the session has expired: log in again")
    idle = timedelta(minutes=settings.session_idle_minutes)
    if now - row.last_seen_at >= idle:
        raise AuthenticationError(
            "authorization", f"the session was idle over {settings.session_idle_minutes} min"
        )
    if not user.active or user.username != claims.username:
        raise AuthenticationError("authorization", "the user is unknown or deactivated")
    touch = min(timedelta(seconds=TOUCH_SECONDS), idle / 4)
    if now - row.last_seen_at >= touch:
        with database.transaction() as session:
            session.execute(
                update(AuthSession)
                .where(AuthSession.id == row.id, AuthSession.last_seen_at < now)
                .values(last_seen_at=now)
            )
    return Authenticated(user, row.sid)


def end_session(
    session: Session, actor: User, session_id: str, *, reason: str = "logout", now: datetime | None
) -> bool:
    """End one session (logout), audited; False when it had already ended."""
    audit.lock_chain(session)
    row = session.scalar(select(AuthSession).where(AuthSession.sid == session_id))
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.end_reason = now or utc_now(), reason
    session.flush()
    audit.append(
        session, actor=actor.username, action=reason[:16], entity_type=ACCOUNT_ENTITY,
        entity_id=row.user_id, old=None, new={"session": row.id, "kind": row.kind},
    )  # fmt: skip
    return True


def end_user_sessions(
    session: Session, actor: User | None, user: User, *, reason: str, now: datetime | None = None
) -> int:
    """End every open session of `user` (revocation, deactivation), audited; returns how many."""
    audit.lock_chain(session)
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None))
        .values(ended_at=now or utc_now(), end_reason=reason)
    )
    ended = int(getattr(result, "rowcount", 0) or 0)
    audit.append(
        session, actor=actor.username if actor is not None else "system",
        action="revoke_sessions", entity_type=ACCOUNT_ENTITY, entity_id=user.id, old=None,
        new={"username": user.username, "reason": reason, "sessions": ended},
    )  # fmt: skip
    return ended


# --- electronic signatures ----------------------------------------------------------------


@dataclass(frozen=True)
class SignatureIn:
    """What a signer gives: the password again, and what the signature means."""

    password: str
    meaning: str


def is_critical(alert: Any) -> bool:
    """Whether acknowledging `alert` must be signed: severity critical, or grade >= 3."""
    grade = getattr(alert, "grade", None)
    return alert.severity == "critical" or (grade is not None and grade >= CRITICAL_GRADE)


def check_signature(user: User, signature: SignatureIn | None, field: str = "signature") -> str:
    """The meaning of a valid signature by `user`; SignatureError naming the field otherwise."""
    if signature is None:
        raise SignatureError(
            field, "required: your password again and the meaning of the signature", missing=True
        )
    if signature.meaning not in MEANINGS:
        raise SignatureError(
            f"{field}.meaning", f"must be one of {', '.join(MEANINGS)}", missing=True
        )
    if not signature.password or not verify_password(signature.password, user.password_hash):
        raise SignatureError(f"{field}.password", "does not match your password", signer=user)
    return signature.meaning


def record_signature(
    session: Session,
    user: User,
    meaning: str,
    *,
    action: str,
    entity_type: str,
    entity_id: int,
    now: datetime | None = None,
) -> Signature:
    """Record a signature `check_signature` accepted, for the row, audited, in the caller's
    transaction (so the signature and the signed change commit together)."""
    audit.lock_chain(session)
    row = Signature(
        signer_id=user.id, signer=user.username, meaning=meaning, action=action,
        entity_type=entity_type, entity_id=entity_id, signed_at=now or utc_now(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.append(
        session, actor=user.username, action="create", entity_type="signature",
        entity_id=row.id, old=None, new=audit.snapshot(row),
    )  # fmt: skip
    return row


def signatures_of(session: Session, entity_type: str, entity_id: int) -> list[Signature]:
    """The signatures recorded for one row, oldest first."""
    query = (
        select(Signature)
        .where(Signature.entity_type == entity_type, Signature.entity_id == entity_id)
        .order_by(Signature.id)
    )
    return list(session.scalars(query))
