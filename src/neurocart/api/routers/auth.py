"""Log in (username + password → bearer token) and see one's own account."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends

from neurocart.api.deps import CurrentUser, DatabaseDep, SettingsDep, public
from neurocart.api.errors import UnauthenticatedError
from neurocart.api.routing import api_router
from neurocart.api.schemas import LoginIn, TokenOut, UserOut
from neurocart.api.views import out
from neurocart.security import issue_token, read_token, verify_password
from neurocart.store import repo

router = api_router(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/login",
    dependencies=[Depends(public)],
    responses={401: {"description": "unknown user, wrong password, or deactivated user"}},
)
def login(body: LoginIn, settings: SettingsDep, database: DatabaseDep) -> TokenOut:
    """A token for a valid, active user; the same 401 whatever was wrong (no user probing)."""
    with database.reading() as session:
        user = repo.get_user_by_username(session, body.username)
    stored = user.password_hash if user is not None else None
    if not verify_password(body.password, stored) or user is None or not user.active:
        raise UnauthenticatedError("password", "unknown user, wrong password, or deactivated user")
    token = issue_token(
        user.username,
        user.role.value,
        secret=settings.secret_key,
        ttl=timedelta(minutes=settings.token_ttl_minutes),
    )
    claims = read_token(token, secret=settings.secret_key)
    return TokenOut(
        access_token=token, expires_at=claims.expires_at, username=user.username, role=user.role
    )


@router.get("/me")
def me(user: CurrentUser) -> UserOut:
    """The authenticated user's own account (any role)."""
    return out(UserOut, user)
