"""User administration (admins only): list accounts, add one, activate or deactivate, lift a
login lockout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from neurocart.i18n import error_text
from neurocart.i18n import gettext as _
from neurocart.security import Role
from neurocart.services import accounts
from neurocart.services.reads import log_read
from neurocart.store import StoreError, repo
from neurocart.store.models import User
from neurocart.web.auth import ReadSession, auth_now, database_of, require, settings_of
from neurocart.web.pages import FormPairs
from neurocart.web.templating import render

router = APIRouter(include_in_schema=False)

UserAdmin = Annotated[User, Depends(require("users", "admin"))]


def _page(
    request: Request,
    status: int = 200,
    *,
    error: str | None = None,
    notice: str | None = None,
    confirm: User | None = None,
) -> HTMLResponse:
    settings = settings_of(request)
    with database_of(request).reading() as session:
        users = repo.list_users(session)
        locked = accounts.locked_usernames(session, settings, auth_now(request))
    return render(
        request, "admin_users.html", status, users=users, roles=list(Role), error=error,
        notice=notice, confirm=confirm, password_min=settings.password_min_length, locked=locked,
    )  # fmt: skip


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, user: UserAdmin, session: ReadSession) -> HTMLResponse:
    """The admin page listing accounts, with the form to add one."""
    return _page(request)


@router.post("/admin/users")
def create_user(request: Request, user: UserAdmin, pairs: FormPairs) -> Response:
    """Add an account from the admin form; a bad field re-renders the page with a 422 naming it, and
    nothing is stored."""
    form = dict(pairs)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    role = form.get("role", "")
    if not username:
        return _page(request, 422, error=_("username: required"))
    minimum = settings_of(request).password_min_length
    if len(password) < minimum:
        return _page(request, 422, error=_("password: at least {n} characters").format(n=minimum))
    if role not in {r.value for r in Role}:
        return _page(request, 422, error=_("role: unknown role {role!r}").format(role=role))
    try:
        with database_of(request).transaction() as session:
            accounts.create_account(
                session, user, settings_of(request), username=username, password=password,
                role=role,
            )  # fmt: skip
    except (StoreError, ValueError) as exc:
        return _page(request, 422, error=error_text(exc))
    return _page(
        request, 201, notice=_("User {user} created ({role}).").format(user=username, role=role)
    )


@router.post("/admin/users/{user_id}/active")
def set_active(request: Request, user_id: int, user: UserAdmin, pairs: FormPairs) -> Response:
    """Activate or deactivate an account (never your own, so an admin cannot lock
    themselves out)."""
    form = dict(pairs)
    active = form.get("active") == "true"
    if user_id == user.id and not active:
        return _page(request, 422, error=_("You cannot deactivate your own account."))
    if not active and form.get("confirm") != "yes":  # ask first: it locks the person out
        with database_of(request).reading() as session:
            target = repo.get_user(session, user_id)
        if target is None:
            return _page(request, 404, error=_("No user with id {id}.").format(id=user_id))
        return _page(request, confirm=target)
    try:
        with database_of(request).transaction() as session:
            accounts.change_account(session, user, settings_of(request), user_id, active=active)
    except (StoreError, ValueError) as exc:
        return _page(request, 422, error=error_text(exc))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/unlock")
def unlock(request: Request, user_id: int, user: UserAdmin) -> Response:
    """Lift an account's login lockout now rather than when its window passes: the same
    audited service call as the API's ``POST /api/v1/users/{username}/unlock`` and `neurocart
    user unlock` (`accounts.unlock`); the failed logins stay in the audit trail."""
    with database_of(request).transaction() as session:
        target = repo.get_user(session, user_id)
        if target is None:
            done = None
        else:
            done = accounts.unlock(
                session, user, target, settings_of(request), now=auth_now(request)
            )
    if done is None:
        return _page(request, 404, error=_("No user with id {id}.").format(id=user_id))
    if done.was_locked:
        notice = _("The lockout of {user} is lifted; they can log in again.")
    else:
        notice = _("{user} was not locked out; nothing to lift.")
    return _page(request, notice=notice.format(user=done.username))


FeedAdmin = Annotated[User, Depends(require("feeds", "admin"))]


@router.get("/admin/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, user: FeedAdmin, session: ReadSession) -> HTMLResponse:
    """The hospital feeds' review list: local codes the code map lacks (never guessed: each
    result carrying one was refused) and the messages refused or rejected, with why; the view
    is recorded in the read log."""
    from neurocart.interop.hl7.review import unmapped_codes
    from neurocart.store.interop import list_messages

    refused = [m for m in list_messages(session, limit=200) if m.status != "accepted"]
    unmapped = unmapped_codes(session)
    # a refusal's reason may name the patient (an unregistered study ID): a logged read
    scope = {"messages": len(refused), "unmapped": len(unmapped)}
    log_read(database_of(request), user, "feeds", scope=scope)
    return render(request, "admin_feeds.html", unmapped=unmapped, refused=refused)
