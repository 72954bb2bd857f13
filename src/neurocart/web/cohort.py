"""The Cohort page: the report's headline tables and figures, its neuro-immunology readouts
(CSF indices, oligoclonal bands, MRI activity, antibody titres, timed tests, nerve
conduction, single-cell), and the report as a download.

The analysis is the report's own (`neurocart.cohort.analyse` on `neurocart.reports.scope`'s
export, biomarkers included: the page's tables are the report's, built by the same code),
cached per (database, database state, cut-off, site): the state is the audit chain's head
plus the highest id of each clinical table, so any write — audited or not — makes a new key
and a page view after it recomputes, while repeated views cost two small queries. The
biomarkers add little to an uncached view (2 shared cores: the 40-patient demo ~2.4 s
against ~2.1 s without them, 400 patients ~2.9 s against ~2.4 s; most of it is drawing the
figures, the κFLC spider ~0.5 s of it).
Figures are the report's PNGs, served from the cache. Reading needs `reports: read`; the
download is an export (`reports: write`).
"""

from __future__ import annotations

import io
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select

from neurocart.i18n import N_, current, error_text, message_text, parse_local_date
from neurocart.i18n import gettext as _
from neurocart.reports import biomarkers
from neurocart.services.reads import log_read
from neurocart.store import Database, audit
from neurocart.store.models import (
    Assessment,
    ClinicalEvent,
    Observation,
    Patient,
    TreatmentCourse,
    User,
)
from neurocart.studyday import local_date
from neurocart.web.auth import database_of, require
from neurocart.web.pages import now_of
from neurocart.web.templating import render

if TYPE_CHECKING:  # the analysis loads lifelines and matplotlib, the store's frames pandas:
    from neurocart.cohort.analysis import CohortAnalysis  # only when a page asks
    from neurocart.reports.scope import CohortScope

router = APIRouter(include_in_schema=False)

ReportsReader = Annotated[User, Depends(require("reports", "read"))]
ReportsExporter = Annotated[User, Depends(require("reports", "write"))]

TABLES: tuple[tuple[str, str], ...] = (
    ("outcome_summary", N_("Outcomes by disease")),
    ("relapse_free_survival", N_("Relapse-free survival at 6, 12, 18 and 24 months")),
    ("drug_free_remission", N_("Drug-free remission at 12 and 24 months")),
    ("toxicity", N_("CRS, ICANS, ICAHT and infections")),
    ("kinetics_summary", N_("CAR-T kinetics")),
    ("responder_effect_sizes", N_("Responders vs non-responders")),
    ("cox_model", N_("Cox model of relapse-free survival")),
)
FIGURES: tuple[tuple[str, str], ...] = (
    ("km", N_("Relapse-free survival (Kaplan–Meier)")),
    ("swimmer", N_("Course of each patient")),
    ("spider", N_("Change of the disease scales")),
    ("kinetics", N_("CAR-T in blood and CSF")),
    ("forest", N_("Who does not benefit (Cox model)")),
)
"""The page's tables and figures with their headings (shown in the reader's language)."""
BIOMARKER_TABLES: tuple[tuple[str, str], ...] = tuple(
    (name, biomarkers.TABLE_TITLES[name]) for kind, name in biomarkers.ITEMS if kind == "table"
)
BIOMARKER_FIGURES: tuple[tuple[str, str], ...] = tuple(
    (name, biomarkers.FIGURE_TITLES[name]) for kind, name in biomarkers.ITEMS if kind == "figure"
)
"""The report's neuro-immunology items, in its order, with the page's headings (each shown
with the report's caption, which says how it was read)."""
CACHE_SIZE = 4
"""Analyses kept per app (e.g. today's and a fixed cut-off for two sites)."""


@dataclass
class CohortView:
    """One computed analysis with everything the page and the download need."""

    scope: CohortScope
    definition: str
    result: CohortAnalysis
    pngs: dict[str, bytes]
    tables: dict[str, Markup]
    computed_at: datetime
    download: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class CohortCache:
    """A small LRU of analyses; one computation at a time (matplotlib is not thread-safe)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[Any, ...], CohortView] = OrderedDict()
        self.lock = threading.Lock()
        self.computations = 0

    def get(self, key: tuple[Any, ...], compute: Callable[[], CohortView]) -> CohortView:
        with self.lock:
            view = self.entries.get(key)
            if view is None:
                view = compute()
                self.computations += 1
                self.entries[key] = view
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
            self.entries.move_to_end(key)
            return view


_CACHE_LOCK = threading.Lock()


def cache_of(request: Request) -> CohortCache:
    """The app's cache (`app.state.cohort_cache`), created on first use."""
    with _CACHE_LOCK:
        cache = getattr(request.app.state, "cohort_cache", None)
        if not isinstance(cache, CohortCache):
            cache = CohortCache()
            request.app.state.cohort_cache = cache
        return cache


def database_state(database: Database) -> tuple[Any, ...]:
    """What identifies the record's content: audit head and each clinical table's max id."""
    with database.reading() as session:
        seq, head = audit.head(session)
        ids = session.execute(
            select(
                *(
                    select(func.max(model.id)).scalar_subquery()
                    for model in (Patient, TreatmentCourse, Observation, Assessment, ClinicalEvent)
                )
            )
        ).one()
    return (seq, head, *ids)


def compute_view(database: Database, cutoff: date, site: str | None) -> CohortView:
    """Export, check, analyse and render (raises CohortScopeError when nothing to analyse)."""
    from neurocart.cohort import analyse
    from neurocart.cohort.analysis import selection
    from neurocart.reports.build import figure_pngs
    from neurocart.reports.scope import (
        database_source,
        is_synthetic,
        load_cohort,
        require_infused,
        scope_of,
    )
    from neurocart.reports.tables import html_table

    frames = load_cohort(database, site=site, only=selection(), cutoff=cutoff)
    scope = scope_of(
        frames,
        cutoff=cutoff,
        site=site,
        source=database_source(database.engine.url),
        synthetic=is_synthetic(database),
    )
    require_infused(scope)
    result = analyse(frames, cutoff=cutoff)  # the report's tables, biomarkers included
    tables = {
        name: Markup(html_table(name, result.tables[name]))  # cells are escaped
        for name, _ in (*TABLES, *BIOMARKER_TABLES)
        if name in result.tables
    }
    return CohortView(
        scope=scope,
        definition=scope.text(),
        result=result,
        pngs=figure_pngs(result),
        tables=tables,
        computed_at=datetime.now(UTC),
    )


SCOPE = "neurocart.reports.scope"
"""The module whose message keys say a cohort's definition (`message_text`)."""


class BadQueryError(ValueError):
    """A query parameter the page cannot use (the message names it)."""


def parse_cutoff(request: Request, cutoff: str | None) -> date:
    """The analysis cut-off date from the query, today by the app's clock on the site's
    calendar when omitted (at 03:00 Beijing time it is already the Beijing date, not the UTC
    one); a bad date raises BadQueryError naming `cutoff`."""
    if not cutoff:
        return local_date(now_of(request))
    try:
        return parse_local_date(cutoff)
    except ValueError:
        raise BadQueryError(
            _("cutoff: expected a date YYYY-MM-DD, got {cutoff!r}").format(cutoff=cutoff)
        ) from None


def cohort_view(request: Request, cutoff: date, site: str | None) -> CohortView:
    """The cached analysis of the current record (computed when the record changed), one per
    language: its figures, tables and report speak the reader's."""
    database = database_of(request)
    key = (
        database.engine.url.render_as_string(hide_password=True),
        *database_state(database),
        cutoff,
        site,
        current(),
    )
    return cache_of(request).get(key, lambda: compute_view(database, cutoff, site))


def _query(cutoff: date, site: str | None) -> str:
    from urllib.parse import urlencode

    params = {"cutoff": cutoff.isoformat(), **({"site": site} if site else {})}
    return urlencode(params)


def _site(site: str | None) -> str | None:
    return site.strip() or None if site is not None else None


@router.get("/cohort", response_class=HTMLResponse)
def cohort_page(
    request: Request, user: ReportsReader, cutoff: str | None = None, site: str | None = None
) -> HTMLResponse:
    """The cohort analysis page: outcome tables and figures at a cut-off date, optionally for one
    site."""
    from neurocart.reports.build import CAPTIONS, FIGURE_CAPTIONS
    from neurocart.reports.scope import CohortScopeError

    site = _site(site)
    context: dict[str, Any] = {
        "active": "cohort", "site": site or "", "cutoff": cutoff or "", "view": None,
        "problem": None, "plotted": {}, "tables": TABLES, "figures": FIGURES,
        "captions": FIGURE_CAPTIONS, "biomarker_title": biomarkers.TITLE,
        "biomarker_tables": BIOMARKER_TABLES, "biomarker_figures": BIOMARKER_FIGURES,
        "table_captions": CAPTIONS, "biomarkers_shown": False,
    }  # fmt: skip
    try:
        cut = parse_cutoff(request, cutoff)
    except BadQueryError as exc:
        return render(request, "cohort.html", 422, error=str(exc), **context)
    context["cutoff"] = cut.isoformat()
    context["query"] = _query(cut, site)
    try:
        context["view"] = view = cohort_view(request, cut, site)
        context["plotted"] = plotted_rows(view.result)
        log_read(database_of(request), user, "report:page",
                 scope={"cutoff": cut.isoformat(), "site": site or "all"})  # fmt: skip
    except CohortScopeError as exc:
        context["problem"] = error_text(exc)
    if context["view"] is not None:
        context["definition"] = message_text(context["view"].definition, SCOPE)
        context["biomarkers_shown"] = any(
            name in context["view"].tables for name, _ in BIOMARKER_TABLES
        ) or any(name in context["view"].pngs for name, _ in BIOMARKER_FIGURES)
    return render(request, "cohort.html", error=None, **context)


def plotted_rows(result: CohortAnalysis) -> dict[str, list[dict[str, str]]]:
    """Each figure's drawn values as rows of text, formatted as its table formats them."""
    from neurocart.reports.tables import percent

    out: dict[str, list[dict[str, str]]] = {}
    for name, frame in result.figure_values.items():
        out[name] = [
            {"group": str(r.group), "month": f"{r.month:g}", "value": percent(r.plotted_survival)}
            for r in frame.itertuples()
        ]
    return out


def _view_or_404(request: Request, cutoff: str | None, site: str | None) -> CohortView | Response:
    from neurocart.reports.scope import CohortScopeError

    try:
        return cohort_view(request, parse_cutoff(request, cutoff), _site(site))
    except (BadQueryError, CohortScopeError) as exc:
        return Response(
            error_text(exc), status_code=404 if isinstance(exc, CohortScopeError) else 422
        )


@router.get("/cohort/figures/{name}.png")
def cohort_figure(
    request: Request,
    name: str,
    user: ReportsReader,
    cutoff: str | None = None,
    site: str | None = None,
) -> Response:
    """One cohort figure as PNG, for the same cut-off and site as the page."""
    view = _view_or_404(request, cutoff, site)
    if isinstance(view, Response):
        return view
    if name not in view.pngs:
        return Response(_("no figure {name!r} for this cohort").format(name=name), status_code=404)
    return Response(
        view.pngs[name], media_type="image/png", headers={"Cache-Control": "private, max-age=60"}
    )


def report_zip(view: CohortView) -> bytes:
    """report.html, report.pdf, tables/*.csv and figures/*.png of the view, zipped (cached)."""
    from neurocart.reports import write_report

    with view.lock:
        if view.download is None:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)
                write_report(
                    view.result,
                    out,
                    cutoff=view.scope.cutoff,
                    cohort_definition=message_text(view.definition, SCOPE),
                    pngs=view.pngs,
                    synthetic=view.scope.synthetic,
                )
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                    for path in sorted(out.rglob("*")):
                        if path.is_file():
                            archive.write(path, path.relative_to(out).as_posix())
            view.download = buffer.getvalue()
        return view.download


@router.get("/cohort/report.zip")
def cohort_report(
    request: Request, user: ReportsExporter, cutoff: str | None = None, site: str | None = None
) -> Response:
    """The cohort report (tables, figures) as a zip download, named for its cut-off and site."""
    view = _view_or_404(request, cutoff, site)
    if isinstance(view, Response):
        return view
    scope = {"cutoff": view.scope.cutoff.isoformat(), "site": view.scope.site or "all"}
    log_read(database_of(request), user, "report:zip", scope=scope)
    name = f"neurocart-cohort-{view.scope.cutoff.isoformat()}"
    if view.scope.site:
        name += f"-{''.join(ch for ch in view.scope.site if ch.isalnum() or ch in '-_')}"
    return Response(
        report_zip(view),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
    )
