"""Request dependencies: settings, the database session, the current user, permissions.

Every route declares exactly one of:

- ``Depends(require(resource, action))`` — an authenticated user whose role the permission
  matrix (neurocart.security) allows; 401 without a valid token, 403 for the wrong role;
- ``Depends(current_user)`` — any authenticated user (only for the user's own account);
- ``dependencies=[Depends(public)]`` — no authentication (health, login).

tests/api/test_permissions.py walks the app's routes and fails for a route with none of them.

Sessions: `WriteSession` is a transaction committed when the route function returns and
*before* the response is sent (dependency scope "function"), so a 2xx means committed;
an exception rolls it back. `ReadSession` never takes SQLite's write lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from neurocart.api.errors import ForbiddenError, UnauthenticatedError
from neurocart.config import Settings
from neurocart.security import Action, Resource, is_allowed
from neurocart.services import accounts
from neurocart.services.plausible import TimeWindow, fact_window
from neurocart.services.reads import log_read
from neurocart.store import Database, Patient, User


def get_settings(request: Request) -> Settings:
    """The settings the app was built with (from the composition root), as a FastAPI dependency."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database, as a FastAPI dependency, so routes never open their own engine."""
    database: Database = request.app.state.database
    return database


def get_now(request: Request) -> datetime:
    """The app's clock read once for this request (the demo runs on a clock of its own)."""
    now: datetime = request.app.state.clock()
    return now


SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def write_session(database: DatabaseDep) -> Iterator[Session]:
    """A session in a transaction, committed before the response is sent."""
    with database.transaction() as session:
        yield session


def read_session(database: DatabaseDep) -> Iterator[Session]:
    """A read-only transaction (rolled back at the end; on SQLite it never blocks writers)."""
    with database.reading() as session:
        yield session


class ReadLogger:
    """Records one read of the record per request (`neurocart.services.reads`)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def __call__(
        self,
        user: User,
        what: str,
        *,
        patient_id: int | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> None:
        log_read(self.database, user, what, patient_id=patient_id, scope=scope)


def read_logger(database: DatabaseDep) -> ReadLogger:
    """The request's read logger (a route calls it once, after the read succeeded)."""
    return ReadLogger(database)


ReadLog = Annotated[ReadLogger, Depends(read_logger)]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
ReadSession = Annotated[Session, Depends(read_session, scope="function")]

bearer = HTTPBearer(auto_error=False, description="a token from POST /api/v1/auth/login")


def public() -> None:
    """Marks a route that needs no authentication (health, login)."""


def auth_now(request: Request) -> datetime:
    """The time sessions are judged by (`accounts.now_for`)."""
    return accounts.now_for(request.app.state)


def current_user(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The user whose live session the bearer token names, reloaded on every request.

    The token proves identity; the session table says whether it is still honoured (logout,
    revocation, idle timeout, deactivation), and the role used everywhere is the one stored
    now, not the one in the token. The session id is kept in ``request.state.session_id``.
    """
    if credentials is None:
        raise UnauthenticatedError("authorization", "a bearer token is required (log in first)")
    try:
        found = accounts.check_session(
            database, settings, credentials.credentials, auth_now(request)
        )
    except accounts.AuthenticationError as exc:
        raise UnauthenticatedError(exc.field, str(exc)) from None
    request.state.session_id = found.session_id
    return found.user


CurrentUser = Annotated[User, Depends(current_user)]


def window_of(patient: Patient, settings: Settings, now: datetime) -> TimeWindow:
    """The instants `patient`'s facts may carry now (neurocart.services.plausible)."""
    return fact_window(patient, now=now, max_future_minutes=settings.max_future_minutes)


class require:  # noqa: N801 - used like a function: Depends(require(...))
    """A dependency allowing only roles the permission matrix allows `action` on `resource`."""

    def __init__(self, resource: Resource, action: Action) -> None:
        self.resource = Resource(resource)
        self.action = Action(action)

    def __call__(self, user: CurrentUser) -> User:
        if not is_allowed(user.role.value, self.resource, self.action):
            raise ForbiddenError(
                None,
                f"role {user.role.value!r} may not {self.action.value} {self.resource.value}",
                user.role.value,
            )
        return user

    def __repr__(self) -> str:
        return f"require({self.resource.value!r}, {self.action.value!r})"
