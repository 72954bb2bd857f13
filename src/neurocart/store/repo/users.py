"""Users: accounts, their roles and passwords (hashes only), audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.store import audit
from neurocart.store.errors import (
    NOT_EMPTY,
    ONE_OF,
    USERNAME_TAKEN,
    ConflictError,
    InvalidRecordError,
)
from neurocart.store.models import (
    Role,
    User,
)
from neurocart.store.repo._common import (
    KEEP,
    Keep,
    _changes,
    _choice,
    _created,
    _load,
    _updated,
)
from neurocart.store.types import utcnow


def create_user(
    session: Session,
    actor: User | None,
    *,
    username: str,
    password_hash: str,
    role: Role | str,
    active: bool = True,
) -> User:
    """A new user; `password_hash` comes from neurocart.security. `actor` None = system."""
    audit.lock_chain(session)
    if not username.strip():
        raise InvalidRecordError("username", NOT_EMPTY, username)
    if get_user_by_username(session, username) is not None:
        raise ConflictError(USERNAME_TAKEN.format(username=repr(username)), "username")
    user = User(
        username=username,
        password_hash=password_hash,
        role=_choice("role", Role, role),
        active=active,
        created_at=utcnow(),
    )
    return _created(session, actor, user)


def update_user(
    session: Session,
    actor: User | None,
    user_id: int,
    *,
    role: Role | str | Keep = KEEP,
    active: bool | Keep = KEEP,
    password_hash: str | Keep = KEEP,
    locale: str | Keep | None = KEEP,
) -> User:
    """Change an account's role, active flag, password hash or preferred language (None: the
    browser's), audited; fields left as KEEP are not touched."""
    audit.lock_chain(session)
    user = _load(session, User, user_id)
    changes = _changes(role=role, active=active, password_hash=password_hash, locale=locale)
    if "role" in changes:
        changes["role"] = _choice("role", Role, changes["role"])
    if changes.get("locale") is not None:
        from neurocart.i18n import LOCALES, normalize

        chosen = normalize(changes["locale"])
        if chosen is None:
            raise InvalidRecordError("locale", ONE_OF.format(choices=", ".join(LOCALES)), locale)
        changes["locale"] = chosen
    return _updated(session, actor, user, changes)


def get_user(session: Session, user_id: int) -> User | None:
    """The account with this id, or None (the login path must not raise on an unknown id)."""
    return session.get(User, user_id)


def get_user_by_username(session: Session, username: str) -> User | None:
    """The account with this username, or None: how a login finds its user."""
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session) -> list[User]:
    """Every account, by username, for the admin page and `neurocart user list`."""
    return list(session.scalars(select(User).order_by(User.username)))
