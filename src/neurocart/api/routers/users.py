"""User accounts (admin only): create with an argon2 hash, list, change role, deactivate, end a
user's sessions, lift a lockout."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, status
from pydantic import BaseModel

from neurocart.api.deps import ReadSession, SettingsDep, WriteSession, require
from neurocart.api.routing import api_router
from neurocart.api.schemas import UserIn, UserOut, UserUpdate
from neurocart.api.views import out
from neurocart.security import Action, Resource
from neurocart.services import accounts
from neurocart.store import ConflictError, NotFoundError, User, repo

router = api_router(prefix="/api/v1/users", tags=["users"])

Reader = Annotated[User, Depends(require(Resource.USERS, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.USERS, Action.WRITE))]
Changer = Annotated[User, Depends(require(Resource.USERS, Action.CORRECT))]
Admin = Annotated[User, Depends(require(Resource.USERS, Action.ADMIN))]
UsernamePath = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserIn, user: Writer, session: WriteSession, settings: SettingsDep
) -> UserOut:
    """Create an account (admins only); the password (Settings.password_min_length at least) is
    stored as an argon2 hash."""
    created = accounts.create_account(
        session, user, settings, username=body.username, password=body.password, role=body.role
    )
    return out(UserOut, created)


@router.get("")
def list_users(user: Reader, session: ReadSession) -> list[UserOut]:
    """Every account with its role and whether it is active (admins only)."""
    return [out(UserOut, u) for u in repo.list_users(session)]


def _target(session: WriteSession, username: str) -> User:
    target = repo.get_user_by_username(session, username)
    if target is None:
        raise NotFoundError("user", username, "username")
    return target


@router.patch("/{username}")
def update_user(
    username: UsernamePath,
    body: UserUpdate,
    user: Changer,
    session: WriteSession,
    settings: SettingsDep,
) -> UserOut:
    """Change role, active flag or password; an admin cannot demote or deactivate themself.
    Deactivating or setting a new password ends the user's sessions."""
    target = _target(session, username)
    given = body.model_fields_set
    changes: dict[str, Any] = {k: getattr(body, k) for k in given & {"role", "active"}}
    if target.id == user.id and (
        changes.get("active") is False or changes.get("role", user.role) != user.role
    ):
        raise ConflictError("an admin cannot demote or deactivate their own account", "username")
    changed = accounts.change_account(
        session, user, settings, target.id, password=body.password, **changes
    )
    return out(UserOut, changed)


@router.post("/{username}/deactivate")
def deactivate_user(
    username: UsernamePath, user: Admin, session: WriteSession, settings: SettingsDep
) -> UserOut:
    """Deactivate: the user's sessions end at once; the account and its history stay."""
    target = _target(session, username)
    if target.id == user.id:
        raise ConflictError("an admin cannot deactivate their own account", "username")
    return out(UserOut, accounts.change_account(session, user, settings, target.id, active=False))


class RevokedOut(BaseModel):
    """How many sessions an admin's revocation ended."""

    username: str
    ended: int


@router.post("/{username}/sessions/revoke")
def revoke_sessions(username: UsernamePath, user: Admin, session: WriteSession) -> RevokedOut:
    """End every session of the user (a lost laptop, a shared password): their tokens and
    cookies get 401 from now on; the account stays active."""
    target = _target(session, username)
    ended = accounts.end_user_sessions(session, user, target, reason="revoked")
    return RevokedOut(username=target.username, ended=ended)


class UnlockedOut(BaseModel):
    """What an unlock did: whether the account was locked out, how many failed logins it
    cleared."""

    username: str
    was_locked: bool
    cleared: int


@router.post("/{username}/unlock")
def unlock_user(
    username: UsernamePath, user: Admin, session: WriteSession, settings: SettingsDep
) -> UnlockedOut:
    """Lift a locked-out account's lockout now, rather than when its window passes (audited;
    the failed logins stay in the audit trail). A lockout of a client address is not lifted."""
    target = _target(session, username)
    done = accounts.unlock(session, user, target, settings)
    return UnlockedOut(username=done.username, was_locked=done.was_locked, cleared=done.cleared)
