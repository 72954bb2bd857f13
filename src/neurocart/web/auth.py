"""Sessions for the web pages: the API's signed token, carried in an HttpOnly cookie.

The token names a server-side session (neurocart.services.accounts): logging out ends it, so
a copied cookie replayed afterwards opens nothing; so do the idle timeout, an admin's
revocation and deactivation. Failed logins are throttled like the API's.

The cookie is SameSite=Strict (another site's form cannot post with it), HttpOnly (page
scripts cannot read it) and Secure over HTTPS. On every request the user is reloaded: an
inactive user is logged out at once and the role is the one stored now. A page declares what
it needs with `require(resource, action)`; the role matrix (neurocart.security) answers, and a
refused role gets the 403 page — the templates hide what a role may not do, this enforces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from neurocart.config import Settings, get_settings
from neurocart.i18n import N_
from neurocart.i18n import gettext as _
from neurocart.security import is_allowed
from neurocart.services import accounts
from neurocart.store import Database, get_database
from neurocart.store.models import User

COOKIE = "neurocart_session"


class LoginRequired(Exception):  # noqa: N818 - a redirect, not an error
    """No valid session: the handler redirects to the login page (htmx: HX-Redirect)."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class PageForbidden(Exception):  # noqa: N818 - rendered as the 403 page
    """The user's role may not do this."""

    def __init__(self, user: User, what: str) -> None:
        self.user = user
        self.what = what


def settings_of(request: Request) -> Settings:
    """The app's settings, or the process defaults when the web pages are mounted without a
    composition root (tests)."""
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def database_of(request: Request) -> Database:
    """The app's database, or the default one when the pages are mounted on their own."""
    database = getattr(request.app.state, "database", None)
    return database if isinstance(database, Database) else get_database()


def reading(request: Request) -> Iterator[Session]:
    """A read-only session for one page, as a FastAPI dependency."""
    with database_of(request).reading() as session:
        yield session


ReadSession = Annotated[Session, Depends(reading, scope="function")]


def safe_next(target: str | None) -> str:
    """Only a local path may be a post-login destination (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def auth_now(request: Request) -> datetime:
    """The time sessions are judged by (`accounts.now_for`)."""
    return accounts.now_for(request.app.state)


def client_address(request: Request) -> str | None:
    """The peer's address, which the login throttle counts failures by."""
    return request.client.host if request.client is not None else None


@dataclass(frozen=True)
class SessionCookie:
    """The login cookie's value and lifetime; `secure` is set when the site is served over https."""

    value: str
    max_age: int
    secure: bool


class LoginLocked(Exception):  # noqa: N818 - shown on the login page
    """Too many failed logins: the page says how long to wait."""

    def __init__(self, retry_after: int, message: str) -> None:
        self.retry_after = retry_after
        super().__init__(message)


def signed_correction(request: Request, user: User, password: str, errors: dict[str, str]) -> str:
    """The meaning ("corrected") of the user's signature on a correction form, or "" with
    errors["password"]; a wrong password counts as a failed login of the signer."""
    try:
        return accounts.check_signature(
            user, accounts.SignatureIn(password, "corrected") if password else None
        )
    except accounts.SignatureError as exc:
        if not exc.missing:
            accounts.signature_failed(
                database_of(request), settings_of(request), user, client_address(request),
                auth_now(request),
            )  # fmt: skip
        errors["password"] = (
            _("required: sign the correction with your password")
            if exc.missing
            else _("does not match your password")
        )
        return ""


def log_in(request: Request, username: str, password: str) -> SessionCookie | None:
    """A session cookie for the active user with this password, else None (one answer for
    every failure); LoginLocked while the username or the address is locked out."""
    settings = settings_of(request)
    try:
        done = accounts.login(
            database_of(request), username.strip(), password, settings=settings,
            client=client_address(request), kind="web", now=auth_now(request),
        )  # fmt: skip
    except accounts.LockedOutError as exc:
        raise LoginLocked(exc.retry_after, str(exc)) from None
    except accounts.AuthenticationError:
        return None
    max_age = int(timedelta(minutes=settings.token_ttl_minutes).total_seconds())
    return SessionCookie(done.token, max_age, request.url.scheme == "https")


def log_out(request: Request) -> None:
    """End the session the cookie names (a replayed cookie then opens nothing)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return
    database = database_of(request)
    try:
        found = accounts.check_session(database, settings_of(request), token, auth_now(request))
    except accounts.AuthenticationError:
        return  # already ended, expired or forged: nothing to end
    with database.transaction() as session:
        accounts.end_session(session, found.user, found.session_id, now=auth_now(request))


def web_user(request: Request) -> User:
    """The logged-in, active user of a live session, reloaded from the store; else
    LoginRequired (also after logout, revocation or the idle timeout)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired(here)
    try:
        found = accounts.check_session(
            database_of(request), settings_of(request), token, auth_now(request)
        )
    except accounts.AuthenticationError:
        raise LoginRequired(here) from None
    request.state.web_user = found.user
    request.state.session_id = found.session_id
    return found.user


WebUser = Annotated[User, Depends(web_user)]


PERMISSIONS = {
    ("patients", "read"): N_("read patients"),
    ("tasks", "write"): N_("write tasks"),
    ("observations", "correct"): N_("correct observations"),
    ("assessments", "write"): N_("write assessments"),
    ("calculators", "read"): N_("read calculators"),
    ("alerts", "write"): N_("write alerts"),
    ("alerts", "correct"): N_("correct alerts"),
    ("reports", "read"): N_("read reports"),
    ("reports", "write"): N_("write reports"),
    ("studies", "read"): N_("read studies"),
    ("users", "admin"): N_("admin users"),
    ("feeds", "admin"): N_("admin feeds"),
}
"""What a page's permission lets a role do, by (resource, action) as the role matrix names
it (`neurocart.security.roles`): the 403 page says "Your role (nurse) may not admin users",
in the reader's language by the permission's own words ("管理用户"). Every permission a page
requires is listed (`require` checks it at import)."""


def permission_text(resource: str, action: str) -> str:
    """The permission (resource, action) in the current language (English: "admin users")."""
    return _(PERMISSIONS[(str(resource), str(action))])


class require:  # noqa: N801 - used like a function: Depends(require(...))
    """A page dependency: a logged-in user whose role may perform `action` on `resource`."""

    def __init__(self, resource: str, action: str) -> None:
        is_allowed("admin", resource, action)  # fail at import on a typo
        if (str(resource), str(action)) not in PERMISSIONS:
            raise KeyError(f"no words for the permission {action} {resource} (PERMISSIONS)")
        self.resource = resource
        self.action = action

    def __call__(self, request: Request, user: WebUser) -> User:
        if not is_allowed(user.role.value, self.resource, self.action):
            raise PageForbidden(user, permission_text(self.resource, self.action))
        check_origin(request)
        return user


def check_origin(request: Request) -> None:
    """Refuse a state-changing request whose Origin is another site (defence in depth)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        user: User = request.state.web_user
        raise PageForbidden(user, _("post from another site"))


def login_url(next_url: str) -> str:
    """The login page that returns to `next_url` afterwards (only same-site paths are kept)."""
    return "/login?next=" + quote(safe_next(next_url), safe="/")
