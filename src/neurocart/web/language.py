"""Which language a page is in, and the switch that changes it.

Every page request runs `use_language` first: the logged-in user's stored preference
(`users.locale`), else the language chosen with the switch before logging in (a cookie), else
the browser's `Accept-Language`, else the site default (`Settings.default_locale`). The choice
is put into `neurocart.i18n`'s context variable, which the templates, the page code and the
report read; it is an async dependency so the choice stays in the request's own context.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from neurocart import i18n
from neurocart.security import TokenError, read_token
from neurocart.store import repo
from neurocart.web.auth import COOKIE, database_of, safe_next, settings_of

LANGUAGE_COOKIE = "neurocart_lang"
ONE_YEAR = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)


def _stored_preference(request: Request) -> str | None:
    """The logged-in user's preferred language, or None (no session, no preference)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        claims = read_token(token, secret=settings_of(request).secret_key)
    except TokenError:
        return None
    with database_of(request).reading() as session:
        user = repo.get_user_by_username(session, claims.username)
        return user.locale if user is not None and user.active else None


async def use_language(request: Request) -> str:
    """Choose and activate the language of this request (see the module docstring)."""
    preferred = await run_in_threadpool(_stored_preference, request)
    locale = i18n.negotiate(
        preferred or request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
        settings_of(request).default_locale,
    )
    i18n.activate(locale)
    request.state.locale = locale
    return locale


def _form_value(body: bytes, name: str) -> str:
    values = parse_qs(body.decode("utf-8", errors="replace")).get(name) or [""]
    return values[0]


@router.post("/language")
async def switch_language(request: Request) -> Response:
    """Remember the language picked with the switch (for the user, and in a cookie for the
    login page) and go back to the page it was picked on; an unknown language is a 400."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        return Response("post from another site", status_code=403, media_type="text/plain")
    body = await request.body()
    chosen = i18n.normalize(_form_value(body, "locale"))
    target = safe_next(_form_value(body, "next"))
    if chosen is None:
        return Response(
            f"locale: one of {', '.join(i18n.LOCALES)}", status_code=400, media_type="text/plain"
        )
    await run_in_threadpool(_store_preference, request, chosen)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE, chosen, max_age=ONE_YEAR, samesite="lax", path="/", httponly=True
    )
    return response


def _store_preference(request: Request, locale: str) -> None:
    """Save `locale` as the logged-in user's preference (audited like any account change)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return
    try:
        claims = read_token(token, secret=settings_of(request).secret_key)
    except TokenError:
        return
    with database_of(request).transaction() as session:
        user = repo.get_user_by_username(session, claims.username)
        if user is not None and user.active and user.locale != locale:
            repo.update_user(session, user, user.id, locale=locale)
