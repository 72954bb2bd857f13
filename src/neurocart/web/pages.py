"""Login, the ward board (with its live event stream) and the patient chart."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from markupsafe import Markup
from sqlalchemy import func, select

from neurocart.i18n import N_, current, error_text, joined, term
from neurocart.i18n import gettext as _
from neurocart.pathway import Schedule, Slot, SlotState, chronological, summarize
from neurocart.services import csf_indices, studies
from neurocart.services.reads import log_read, shown_scope
from neurocart.store import NotFoundError, repo
from neurocart.store.errors import ConflictError, InvalidRecordError
from neurocart.store.models import (
    Assessment,
    ClinicalEvent,
    MonitorStatus,
    Observation,
    Task,
    User,
)
from neurocart.web import chart
from neurocart.web.alerts import UnknownAlertError, get_alert_provider
from neurocart.web.auth import (
    COOKIE,
    LoginLocked,
    ReadSession,
    auth_now,
    client_address,
    database_of,
    log_in,
    log_out,
    require,
    safe_next,
    settings_of,
)
from neurocart.web.board import BoardRow, acute_board
from neurocart.web.forms import instruments_for
from neurocart.web.grades import current_grades
from neurocart.web.schedule import infusion_at, latest_course, patient_schedule, study_day
from neurocart.web.templating import not_found, render, render_text

router = APIRouter(include_in_schema=False)

STREAM_POLL_SECONDS = 1.0
STREAM_KEEPALIVE_SECONDS = 15.0
STREAM_LIFETIME_SECONDS = 600.0
"""The board's event stream closes after this; EventSource reconnects by itself."""


def now_of(request: Request) -> datetime:
    """The clock of the pages: `app.state.clock()` when set (demo, tests), else UTC now."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


async def form_pairs(request: Request) -> list[tuple[str, str]]:
    """The urlencoded form body as (name, value) pairs, blanks kept."""
    body = await request.body()
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


FormPairs = Annotated[list[tuple[str, str]], Depends(form_pairs)]


# --- login -------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    """The login form; `next` is where to go afterwards (same-site paths only)."""
    return render(request, "login.html", next=safe_next(next), error=None, username="")


@router.post("/login")
def login(request: Request, pairs: FormPairs) -> Response:
    """Check the credentials and set the session cookie; a failure re-renders the form (401) without
    saying which part was wrong."""
    form = dict(pairs)
    target = safe_next(form.get("next"))
    try:
        cookie = log_in(request, form.get("username", ""), form.get("password", ""))
    except LoginLocked as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        page = render(
            request,
            "login.html",
            429,
            next=target,
            username=form.get("username", ""),
            error=_(
                "Too many failed logins: this account or this computer is locked for about "
                "{minutes} min. Try again later or ask an administrator."
            ).format(minutes=minutes),
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if cookie is None:
        return render(
            request,
            "login.html",
            401,
            next=target,
            username=form.get("username", ""),
            error=_("Unknown user, wrong password, or deactivated account."),
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        cookie.value,
        max_age=cookie.max_age,
        httponly=True,
        samesite="strict",
        secure=cookie.secure,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session, clear the cookie and go back to the login page."""
    log_out(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- ward board ----------------------------------------------------------------------------

PatientsReader = Annotated[User, Depends(require("patients", "read"))]
AlertWriter = Annotated[User, Depends(require("alerts", "write"))]
AlertResolver = Annotated[User, Depends(require("alerts", "correct"))]


@dataclass
class _BoardCache:
    """The last board computed in this process, and its panels rendered per role, view and
    language."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    key: tuple[Any, ...] | None = None
    rows: list[BoardRow] = field(default_factory=list)
    now: datetime | None = None
    panels: dict[tuple[str, str, str], str] = field(default_factory=dict)
    gzipped: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    computing: bool = False


def _cache(request: Request) -> _BoardCache:
    cache = getattr(request.app.state, "board_cache", None)
    if not isinstance(cache, _BoardCache):
        cache = _BoardCache()
        request.app.state.board_cache = cache
    return cache


def board_rows(request: Request) -> tuple[list[BoardRow], datetime]:
    """The board as of now, computed once per change of the record (or per minute) for all
    the boards this process serves; `board_fingerprint` tells a change cheaply."""
    now = now_of(request)
    key = (board_fingerprint(request), now.replace(second=0, microsecond=0))
    cache = _cache(request)
    with cache.lock:
        if cache.key == key and cache.now is not None:
            return cache.rows, cache.now
        last = cache.now
        if last is not None and (
            cache.computing or (cache.key is not None and cache.key[0] == key[0])
        ):
            # Another request is computing it, or only the minute changed: serve the last
            # board now and let time catch up in the background.
            if not cache.computing:
                cache.computing = True
                threading.Thread(target=_refresh, args=(request, key, now), daemon=True).start()
            return cache.rows, last
        cache.computing = True
    return _refresh(request, key, now)


def _refresh(
    request: Request, key: tuple[Any, ...], now: datetime
) -> tuple[list[BoardRow], datetime]:
    cache = _cache(request)
    try:
        with database_of(request).reading() as session:
            alerts = get_alert_provider(request).open_alerts(session)
            rows = acute_board(session, alerts, now=now)
    finally:
        with cache.lock:
            cache.computing = False
    with cache.lock:
        cache.key, cache.rows, cache.now, cache.panels, cache.gzipped = key, rows, now, {}, {}
    return rows, now


def panel_key(user: User, query: BoardQuery) -> tuple[str, str, str]:
    """What a rendered panel depends on besides the rows: the role (its buttons), the view, and
    the reader's language — a nurse who switches to English gets an English panel, not the
    Chinese one a colleague's request left in the cache."""
    return (user.role.value, query.key, current())


def board_panel_html(request: Request, query: BoardQuery) -> str:
    """The panel's HTML for the user's role and view (rendered once per board and role).

    Every panel handed out is a read of the patients on it (their vitals, grades, tasks and
    alerts), so each call records one read-log entry naming them — the board page, the panel
    the live board re-fetches when patients come, go or move, and the panel an action from
    the board answers with. The cards the event stream swaps in are of patients already on
    the panel."""
    rows, now = board_rows(request)
    user: User = request.state.web_user
    context = _panel_context(rows, now, query)
    shown = [r.study_id for r in context["rows"]]
    scope = shown_scope(shown, discipline=query.discipline or None,
                        view="compact" if query.compact else None, patients=len(shown))  # fmt: skip
    log_read(database_of(request), user, "board", scope=scope)
    cache = _cache(request)
    key = panel_key(user, query)
    with cache.lock:
        html = cache.panels.get(key) if cache.rows is rows else None
    if html is None:
        html = render_text(request, "_board_panel.html", **context)
        with cache.lock:
            if cache.rows is rows:
                cache.panels[key] = html
    return html


@dataclass(frozen=True)
class BoardQuery:
    """The board's view: all patients or those with an alert paging one discipline; compact."""

    discipline: str = ""
    compact: bool = False

    @property
    def key(self) -> str:
        return f"{self.discipline}|{int(self.compact)}"


DISCIPLINES = ("neurology", "hematology", "icu", "nursing")


def board_query(discipline: str = "", view: str = "") -> BoardQuery:
    """Read the board's discipline filter and view from the query, ignoring unknown values."""
    return BoardQuery(discipline if discipline in DISCIPLINES else "", view == "compact")


def _panel_context(rows: list[BoardRow], now: datetime, query: BoardQuery) -> dict[str, Any]:
    shown = rows
    if query.discipline:
        shown = [r for r in rows if any(query.discipline in a.disciplines for a in r.alerts)]
    return {"rows": shown, "now": now, "total": len(rows), "query": query}


def _board_context(request: Request, query: BoardQuery) -> dict[str, Any]:
    html = Markup(board_panel_html(request, query))
    version = _cache(request).key
    return {"panel_html": html, "query": query, "disciplines": DISCIPLINES,
            "version": version[0] if version else ""}  # fmt: skip


@router.get("/", response_class=HTMLResponse)
@router.get("/board", response_class=HTMLResponse)
def board(
    request: Request, user: PatientsReader, discipline: str = "", view: str = ""
) -> HTMLResponse:
    """The ward board page, wired to the live event stream."""
    query = board_query(discipline, view)
    stream = getattr(request.app.state, "web_stream_url", None) or "/board/events"
    return render(request, "board.html", stream_url=stream, **_board_context(request, query))


@router.get("/board/panel", response_class=HTMLResponse)
def board_panel(
    request: Request, user: PatientsReader, discipline: str = "", view: str = ""
) -> Response:
    """The panel the live board swaps in; gzipped once per board and role (a 500-patient
    ward is a megabyte of HTML, some 50 kB compressed)."""
    query = board_query(discipline, view)
    html = board_panel_html(request, query)
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return HTMLResponse(html)
    cache = _cache(request)
    key = panel_key(user, query)
    with cache.lock:
        body = cache.gzipped.get(key) if cache.panels.get(key) is html else None
    if body is None:
        body = gzip.compress(html.encode("utf-8"), compresslevel=5)
        with cache.lock:
            if cache.panels.get(key) is html:
                cache.gzipped[key] = body
    headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


def board_fingerprint(request: Request) -> str:
    """Changes whenever something the board shows may have changed: the highest id of each
    clinical table and of the task table, the monitor's latest grade change, and the open
    alerts' state."""
    with database_of(request).reading() as session:
        provider = get_alert_provider(request)
        alerts = provider.open_alerts(session)
        tops = session.execute(
            select(
                *(
                    select(func.max(model.id)).scalar_subquery()
                    for model in (Observation, Assessment, ClinicalEvent, Task)
                ),
                select(func.max(MonitorStatus.updated_at)).scalar_subquery(),
            )
        ).one()
    state = sorted((a.id, a.severity, a.tier, str(a.acknowledged_at), len(a.notes)) for a in alerts)
    text = repr((provider.version(), tuple(tops), state))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@router.get("/board/events")
async def board_events(
    request: Request,
    user: PatientsReader,
    discipline: str = "",
    view: str = "",
    since: str = "",
) -> StreamingResponse:
    """Server-sent events from the process's one board watcher (`board_stream`): a
    ``card-<study id>`` event with the new card when only that card changed, ``board``
    when patients came, went or moved (the page then re-fetches the panel) — and on connecting
    when the board changed since `since` (the fingerprint the page was rendered from), so a
    reconnection misses nothing."""
    from neurocart.web.board_stream import feed_of, sse

    query = board_query(discipline, view)
    feed = feed_of(request.app)

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        yield "retry: 3000\n\n"
        cards: dict[str, str] = {}
        order: list[str] | None = None
        seen = 0
        feed.subscribe(request)
        try:
            while loop.time() - started < STREAM_LIFETIME_SECONDS:
                snap = await feed.next(seen, STREAM_KEEPALIVE_SECONDS)
                if await request.is_disconnected():
                    break
                if snap is None:
                    yield ": keepalive\n\n"
                    continue
                seen = snap.version
                context = _panel_context(snap.rows, snap.now, query)
                fresh = {
                    r.study_id: render_text(
                        request, "_board_card.html", row=r, now=snap.now, query=query
                    )
                    for r in context["rows"]
                }
                now_order = list(fresh)
                if order is None:  # (re)connected: is the page's board older than this one?
                    if since and since != snap.fingerprint:
                        yield f"event: board\ndata: {snap.fingerprint}\n\n"
                elif now_order != order:
                    yield f"event: board\ndata: {snap.fingerprint}\n\n"
                else:
                    for sid, html in fresh.items():
                        if cards.get(sid) != html:
                            yield sse(f"card-{sid}", html)
                cards, order = fresh, now_order
        finally:
            await feed.unsubscribe()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.post("/alerts/ack")
def acknowledge(request: Request, user: AlertWriter, pairs: FormPairs) -> Response:
    """Acknowledge an alert for one's discipline (`security.roles.may_acknowledge`); the
    provider records and audits it. From the board (htmx) or the chart (`next`). A critical
    alert's form asks for the password: the acknowledgement is signed, meaning "reviewed"."""
    from neurocart.security import may_acknowledge
    from neurocart.services.accounts import SignatureError, SignatureIn, signature_failed

    form = dict(pairs)
    alert_id = form.get("alert_id", "")
    provider = get_alert_provider(request)
    message = None
    wrong_password = False
    with database_of(request).transaction() as session:
        view = next((a for a in provider.open_alerts(session) if a.id == alert_id), None)
        if view is None:
            message = _("That alert is no longer open.")
        elif not may_acknowledge(user.role.value, view.disciplines):
            message = _("A {role} may not acknowledge this alert: it pages {disciplines}.").format(
                role=term(user.role.value),
                disciplines=joined(term(d) for d in view.disciplines),
            )
        else:
            password = form.get("password", "")
            signature = SignatureIn(password, "reviewed") if password else None
            try:
                provider.acknowledge(session, user, alert_id, now_of(request), signature)
            except UnknownAlertError:
                message = _("That alert is no longer open.")
            except SignatureError as exc:
                wrong_password = not exc.missing
                message = (
                    _(
                        "Not acknowledged: a critical alert is acknowledged with your "
                        "signature; enter your password."
                    )
                    if exc.missing
                    else _("Not acknowledged: the password does not match.")
                )
    if wrong_password:  # after the transaction: it records in one of its own
        signature_failed(
            database_of(request), settings_of(request), user, client_address(request),
            auth_now(request),
        )  # fmt: skip
    return _alert_reply(request, form, message)


def _alert_reply(request: Request, form: dict[str, str], message: str | None) -> Response:
    """After an action on an alert: the board panel (htmx, with the message) or back to the
    page the form came from."""
    if request.headers.get("hx-request"):
        flash = render_text(request, "_flash.html", flash=message) if message else ""
        query = board_query(form.get("discipline", ""), form.get("view", ""))
        return HTMLResponse(flash + board_panel_html(request, query))
    target = safe_next(form.get("next")) if form.get("next") else "/"
    if message:
        target += ("&" if "?" in target else "?") + urlencode({"alert_error": message})
    return RedirectResponse(target, status_code=303)


def _act_on_alert(request: Request, form: dict[str, str], act: Callable[[Any], object]) -> Response:
    """Run `act(session)` in one transaction; a refusal (bad field, closed alert, unknown
    alert, not allowed) becomes the message shown beside the board or on the chart."""
    message = None
    try:
        with database_of(request).transaction() as session:
            act(session)
    except (InvalidRecordError, ConflictError, NotFoundError, PermissionError) as exc:
        message = error_text(exc)
    return _alert_reply(request, form, message)


@router.post("/alerts/note")
def note_alert(request: Request, user: AlertWriter, pairs: FormPairs) -> Response:
    """A note on an alert, or a hand-over when `to` names a discipline or a person
    (`neurocart.services.alert_notes`)."""
    from neurocart.services import alert_notes

    form = dict(pairs)
    to = form.get("to", "").strip() or None
    return _act_on_alert(
        request, form,
        lambda session: alert_notes.add_note(
            session, user, form.get("alert_id", ""), now_of(request), form.get("text", ""),
            kind="handover" if to else "note", to=to,
        ),
    )  # fmt: skip


@router.post("/alerts/resolve")
def resolve_alert(request: Request, user: AlertResolver, pairs: FormPairs) -> Response:
    """Resolve an alert with a reason (treating clinicians; `neurocart.services.alerts`)."""
    from neurocart.services import alerts as alert_service

    form = dict(pairs)
    return _act_on_alert(
        request, form,
        lambda session: alert_service.resolve(
            session, user, form.get("alert_id", ""), now_of(request), form.get("reason", "")
        ),
    )  # fmt: skip


# --- patient chart ---------------------------------------------------------------------------


@router.get("/patients/{study_id}", response_class=HTMLResponse)
def patient_chart(
    request: Request,
    study_id: str,
    user: PatientsReader,
    session: ReadSession,
    saved: int = 0,
    recorded: str = "",
    corrected: int = 0,
    task_done: str = "",
    alert_error: str = "",
) -> HTMLResponse:
    """A patient's chart page, with the entry forms and task actions this user may use."""
    from neurocart.web.bedside import forms_for, task_action

    try:
        patient = repo.find_patient(session, study_id)
    except NotFoundError:
        return not_found(request, _no_patient(study_id))
    log_read(database_of(request), user, "chart", patient_id=patient.id)
    now = now_of(request)
    course = latest_course(session, patient.id)
    infusion = infusion_at(course)
    observations = repo.observation_series(session, patient.id, chart.CHART_CODES)
    assessments = repo.list_assessments(session, patient.id)
    events = repo.list_events(session, patient.id)
    schedule = patient_schedule(session, patient, now=now)
    alerts = [a for a in get_alert_provider(request).open_alerts(session) if a.study_id == study_id]
    grades = current_grades(session, {patient.id: study_id}, alerts, now=now)[study_id]

    figures: dict[str, list[tuple[str, Any]]] = {"vitals": [], "labs": [], "neuro": []}
    for panel in chart.VITAL_PANELS:
        figures["vitals"].append((panel.key, chart.panel_figure(panel, observations, infusion)))
    for panel in chart.LAB_PANELS:
        figures["labs"].append((panel.key, chart.panel_figure(panel, observations, infusion)))
    figures["neuro"] = [
        (
            "ice",
            chart.assessment_figure(
                "ICE score",
                ["ice"],
                assessments,
                infusion,
                unit="ICE (0–10)",
                y_range=(-0.5, 10.5),
            ),
        ),
        (
            "grades",
            chart.assessment_figure(
                N_("CRS and ICANS grade"),
                ["crs", "icans"],
                assessments,
                infusion,
                unit=_("grade"),
                y_range=(-0.3, 5.3),
            ),
        ),
        *[
            (name, chart.assessment_figure(name.upper(), [name], assessments, infusion))
            for name in chart.DISEASE_SCALES
        ],
        *[
            (panel.key, chart.panel_figure(panel, observations, infusion))
            for panel in chart.TIMED_PANELS
        ],
    ]
    cart = chart.panel_figure(chart.CART_PANEL, observations, infusion)
    csf_notes = chart.csf_index_notes(csf_indices.read_csf_indices(session, patient.id).punctures)
    study_tables = [
        chart.mri_table(studies.mri_course(session, patient.id), infusion),
        chart.ncs_table(studies.ncs_course(session, patient.id), infusion),
    ]
    timeline = chart.timeline_figure(schedule, infusion) if schedule else None
    tasks = task_list(schedule, infusion) if schedule is not None else []
    return render(
        request,
        "patient.html",
        patient=patient,
        course=course,
        day=study_day(now, infusion),
        now=now,
        infusion=infusion,
        crs=grades["crs"],
        icans=grades["icans"],
        alerts=alerts,
        figures=figures,
        cart=cart,
        csf_notes=csf_notes,
        study_tables=[t for t in study_tables if t.rows],
        timeline=timeline,
        phases={
            phase: {state.value: n for state, n in counts.items()}
            for phase, counts in (summarize(schedule) if schedule else {}).items()
        },
        phase_titles={p.id: p.title for p in schedule.protocol.phases} if schedule else {},
        tasks=tasks,
        events=sorted(events, key=lambda e: e.onset_at, reverse=True),
        recent=sorted(assessments, key=lambda a: a.effective_at, reverse=True)[:12],
        instruments=instruments_for(patient.diagnosis.value),
        saved=saved,
        recorded=recorded[:300],
        corrected=corrected,
        alert_error=alert_error[:300],
        task_done=task_done[:128],
        entry_forms=forms_for(user),
        task_action=task_action,
        latest_values=repo.latest_observations(session, patient.id, limit=LATEST_SHOWN),
        day_of=lambda at: study_day(at, infusion),
    )


LATEST_SHOWN = 16
"""Rows of the chart's correction list: the newest value of each code."""


TASKS_SHOWN = 20
"""Rows of the chart's task table: overdue (critical first), due, then the week around now."""


def task_list(schedule: Schedule, infusion: datetime | None = None) -> list[Slot]:
    """Overdue (critical first), due, then the days around now. Once the patient is past the
    infusion, a pre-infusion task missed back then (a day −30 screening) no longer heads the
    list: it comes after today's work, still marked overdue."""
    now = schedule.now
    overdue = sorted(
        schedule.in_state(SlotState.OVERDUE), key=lambda s: (not s.critical, s.due_at or now)
    )
    past = [
        s
        for s in overdue
        if infusion is not None and now >= infusion and (s.due_at or now) < infusion
    ]
    overdue = [s for s in overdue if s not in past]
    due = chronological(schedule.in_state(SlotState.DUE))
    soon = [
        s
        for s in chronological(schedule.slots)
        if (s.state is SlotState.UPCOMING and (at := s.due_at) and at <= now + timedelta(days=3))
        or (s.state is SlotState.DONE and (done := s.done_at) and done >= now - timedelta(days=2))
    ]
    return (overdue + due + soon + past)[:TASKS_SHOWN]


def _no_patient(study_id: str) -> str:
    return _("No patient with study ID {study_id!r}.").format(study_id=study_id)


# --- vendored plotly.js ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    text: str = get_plotlyjs()
    return text.encode("utf-8")


@router.get("/static/vendor/plotly.min.js")
def plotly_js() -> Response:
    """plotly.js from the installed `plotly` package (one copy, cached by the browser)."""
    return Response(
        _plotly_js(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
