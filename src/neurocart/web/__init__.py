"""The web pages the multidisciplinary team lives in: Jinja2 + htmx, rendered on the server.

    from neurocart.web import install
    install(app)          # in create_app: pages, /static, login redirect and 403 handlers

Pages: /login, the ward board (/ and /board, live over server-sent events with polling as a
fallback), the patient chart (/patients/{study_id}), assessment forms generated from the
calculators (/patients/{study_id}/assess/{instrument}), user administration (/admin/users),
the cohort analysis (/cohort, see `neurocart.web.cohort`).
The pages read `app.state.database` and `app.state.settings` when the API set them (else the
process-wide ones), alerts from `app.state.web_alerts` (see `neurocart.web.alerts`), and an
optional `app.state.clock` (a callable returning the current UTC time, for the demo).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from neurocart.i18n import gettext as _
from neurocart.web import admin, assess, bedside, cohort, handover, language, pages, studies
from neurocart.web.alerts import AlertProvider, AlertView, set_alert_provider
from neurocart.web.auth import LoginRequired, PageForbidden, login_url
from neurocart.web.language import use_language
from neurocart.web.templating import render

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False, dependencies=[Depends(use_language)])
router.include_router(language.router)
router.include_router(pages.router)
router.include_router(assess.router)
router.include_router(bedside.router)
router.include_router(handover.router)
router.include_router(admin.router)
router.include_router(cohort.router)
router.include_router(studies.router)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login_url(exc.next_url)
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.url.path.endswith("/events"):
        return Response(status_code=401)
    return RedirectResponse(target, status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    request.state.web_user = exc.user
    response: HTMLResponse = render(
        request,
        "error.html",
        403,
        title=_("Not allowed"),
        message=_("Your role ({role}) may not {what}.").format(
            role=_(exc.user.role.value), what=exc.what
        ),
    )
    return response


def mount_static(app: FastAPI) -> None:
    """Serve the vendored htmx and the stylesheet at /static."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="web-static")


def install(app: FastAPI) -> None:
    """Add the pages, their static files and their exception handlers to `app`."""
    app.include_router(router)
    mount_static(app)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageForbidden, _forbidden)


__all__ = [
    "AlertProvider",
    "AlertView",
    "install",
    "mount_static",
    "router",
    "set_alert_provider",
]
