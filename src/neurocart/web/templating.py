"""Jinja2 environment of the pages: autoescaped templates from the package, a few filters."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from neurocart import i18n
from neurocart.i18n import gettext as _
from neurocart.monitor.routing import DISCIPLINES
from neurocart.security import is_allowed, may_acknowledge, may_record_assessment
from neurocart.store.models import User
from neurocart.web import alert_text, localized

if TYPE_CHECKING:  # jinja2 is imported with the first page rendered, not with the app
    from jinja2 import Environment


def hhmm(at: datetime | None) -> str:
    """A time as HH:MM on the site's 24-hour clock, or a dash (template filter; the page names
    the zone once, see `zone`)."""
    return i18n.format_time(at)


def clock(at: datetime | None, now: datetime) -> str:
    """HH:MM on the site's clock, with the date when it is not today (template filter): a task
    due "19:44" seen at 03:00 says which evening."""
    return i18n.format_clock(at, now)


def when(at: datetime | None) -> str:
    """A date and time on the site's clock with its zone, or a dash (template filter)."""
    return i18n.format_datetime(at)


def ago(at: datetime | None, now: datetime | None = None) -> str:
    """ "12 min ago", "3 h ago", "2 d ago" (from `now`, default the wall clock), translated."""
    if at is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - at).total_seconds()
    if seconds < 0:
        return _("just now") if seconds > -300 else _("in the future")
    if seconds < 90:
        return _("just now")
    if seconds < 3600 * 1.5:
        return _("{n} min ago").format(n=round(seconds / 60))
    if seconds < 86400 * 1.5:
        return _("{n} h ago").format(n=round(seconds / 3600))
    return _("{n} d ago").format(n=round(seconds / 86400))


def num(value: float | None, digits: int = 1) -> str:
    """A number for display: integers of 10 and more without decimals, otherwise `digits` decimals;
    a dash for none."""
    if value is None:
        return "—"
    if float(value).is_integer() and digits <= 1 and abs(value) >= 10:
        return f"{int(value)}"
    return f"{value:.{digits}f}"


def measured(value: float | None) -> str:
    """A measured value as recorded, to six significant digits without trailing zeros: 36.8
    (not 36.80), 13, 1838, 0.004, 70.72 where a unit conversion left 70.72000000000001. A
    fixed number of decimals would claim a precision the laboratory never gave; a dash for
    none."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    text = format(Decimal(f"{value:.6g}").normalize(), "f")
    return "0" if text == "-0" else text


def figure_json(figure: Any) -> Markup:
    """A figure as JSON safe inside <script type="application/json">."""
    text = json.dumps(figure, default=str, separators=(",", ":"), ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """One environment per process: templates compile once, not on every request. The
    gettext functions read the request's language (`neurocart.i18n`), so one environment
    serves every language."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("neurocart.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.filters.update(
        hhmm=hhmm, clock=clock, when=when, ago=ago, num=num, measured=measured,
        figure_json=figure_json, date=i18n.format_date, local_input=i18n.local_input,
        findings=localized.findings,
        citation=alert_text.citation, reason=localized.reason, rule_text=localized.rule_text,
        term=localized.term, joined=i18n.joined, code_name=localized.code_name,
        drug=localized.drug,
    )  # fmt: skip
    env.globals.update(
        current_locale=i18n.current, languages=i18n.NAMES, zone=i18n.zone_label,
    )  # fmt: skip
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page, with `user` and the role helpers `can(resource, action)` / `can_record(name)`."""
    return HTMLResponse(render_text(request, template, **context), status_code=status_code)


def not_found(request: Request, message: str) -> HTMLResponse:
    """The 404 page with `message` (already in the reader's language)."""
    return render(request, "error.html", 404, title=_("Not found"), message=message)


def render_text(request: Request, template: str, **context: Any) -> str:
    """`render`'s HTML as text (a fragment pushed over the event stream)."""
    user: User | None = getattr(request.state, "web_user", None)
    role = user.role.value if user is not None else None

    def can(resource: str, action: str) -> bool:
        return role is not None and is_allowed(role, resource, action)

    def can_record(instrument: str) -> bool:
        return role is not None and may_record_assessment(role, instrument)

    def can_ack(alert: Any) -> bool:
        return role is not None and may_acknowledge(role, alert.disciplines)

    def can_resolve(alert: Any) -> bool:
        return can_ack(alert) and is_allowed(role or "", "alerts", "correct")

    return (
        environment()
        .get_template(template)
        .render(
            request=request,
            user=user,
            can=can,
            can_record=can_record,
            can_ack=can_ack,
            can_resolve=can_resolve,
            handover_targets=DISCIPLINES,
            **context,
        )
    )
