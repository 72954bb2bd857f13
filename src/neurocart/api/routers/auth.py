"""Log in (username + password → bearer token), log out, and see one's own account.

Failed logins are throttled per username and per client address (neurocart.services.accounts):
a lockout answers 429 with Retry-After. Logout ends the token's server-side session, so the
same token replayed afterwards gets 401.
"""

from __future__ import annotations

from fastapi import Depends, Request, status

from neurocart.api.deps import CurrentUser, DatabaseDep, SettingsDep, WriteSession, auth_now, public
from neurocart.api.errors import TooManyRequestsError, UnauthenticatedError
from neurocart.api.routing import api_router
from neurocart.api.schemas import LoginIn, TokenOut, UserOut
from neurocart.api.views import out
from neurocart.services import accounts

router = api_router(prefix="/api/v1/auth", tags=["auth"])


def client_address(request: Request) -> str | None:
    """The peer's address (behind a proxy, uvicorn's --proxy-headers makes it the client's)."""
    return request.client.host if request.client is not None else None


@router.post(
    "/login",
    dependencies=[Depends(public)],
    responses={
        401: {"description": "unknown user, wrong password, or deactivated user"},
        429: {"description": "too many failed logins: see Retry-After"},
    },
)
def login(
    body: LoginIn, request: Request, settings: SettingsDep, database: DatabaseDep
) -> TokenOut:
    """A token for a valid, active user; the same 401 whatever was wrong (no user probing)."""
    try:
        done = accounts.login(
            database, body.username, body.password, settings=settings,
            client=client_address(request), kind="api", now=auth_now(request),
        )  # fmt: skip
    except accounts.LockedOutError as exc:
        raise TooManyRequestsError("username", str(exc), retry_after=exc.retry_after) from None
    except accounts.AuthenticationError as exc:
        raise UnauthenticatedError(exc.field, str(exc)) from None
    return TokenOut(
        access_token=done.token,
        expires_at=done.expires_at,
        username=done.user.username,
        role=done.user.role,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, user: CurrentUser, session: WriteSession) -> None:
    """End this token's session: the token is refused from now on (any server process)."""
    accounts.end_session(session, user, request.state.session_id, now=auth_now(request))


@router.get("/me")
def me(user: CurrentUser) -> UserOut:
    """The authenticated user's own account (any role)."""
    return out(UserOut, user)
