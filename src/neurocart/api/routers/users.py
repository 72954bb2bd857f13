"""User accounts (admin only): create with an argon2 hash, list, change role, deactivate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, status

from neurocart.api.deps import ReadSession, WriteSession, require
from neurocart.api.routing import api_router
from neurocart.api.schemas import UserIn, UserOut, UserUpdate
from neurocart.api.views import out
from neurocart.security import Action, Resource, hash_password
from neurocart.store import ConflictError, NotFoundError, User, repo

router = api_router(prefix="/api/v1/users", tags=["users"])

Reader = Annotated[User, Depends(require(Resource.USERS, Action.READ))]
Writer = Annotated[User, Depends(require(Resource.USERS, Action.WRITE))]
Changer = Annotated[User, Depends(require(Resource.USERS, Action.CORRECT))]
Admin = Annotated[User, Depends(require(Resource.USERS, Action.ADMIN))]
UsernamePath = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, user: Writer, session: WriteSession) -> UserOut:
    """Create an account (admins only); the password is stored as an argon2 hash."""
    created = repo.create_user(
        session,
        user,
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role,
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
    username: UsernamePath, body: UserUpdate, user: Changer, session: WriteSession
) -> UserOut:
    """Change role, active flag or password; an admin cannot demote or deactivate themself."""
    target = _target(session, username)
    given = body.model_fields_set
    changes: dict[str, Any] = {k: getattr(body, k) for k in given & {"role", "active"}}
    if target.id == user.id and (
        changes.get("active") is False or changes.get("role", user.role) != user.role
    ):
        raise ConflictError("an admin cannot demote or deactivate their own account", "username")
    if body.password is not None:
        changes["password_hash"] = hash_password(body.password)
    return out(UserOut, repo.update_user(session, user, target.id, **changes))


@router.post("/{username}/deactivate")
def deactivate_user(username: UsernamePath, user: Admin, session: WriteSession) -> UserOut:
    """Deactivate: the user's tokens stop working at once; the account and its history stay."""
    target = _target(session, username)
    if target.id == user.id:
        raise ConflictError("an admin cannot deactivate their own account", "username")
    return out(UserOut, repo.update_user(session, user, target.id, active=False))
