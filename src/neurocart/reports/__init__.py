"""Cohort reports: self-contained HTML (figures embedded), PDF, and every table as CSV."""

from __future__ import annotations

from neurocart.reports.build import (
    ReportFiles,
    build_report,
    figure_pngs,
    render_html,
    write_pdf,
    write_report,
)
from neurocart.reports.scope import (
    CohortScope,
    CohortScopeError,
    load_cohort,
    mask_url,
    require_infused,
    scope_of,
)
from neurocart.reports.tables import html_table

__all__ = [
    "CohortScope",
    "CohortScopeError",
    "ReportFiles",
    "build_report",
    "figure_pngs",
    "html_table",
    "load_cohort",
    "mask_url",
    "render_html",
    "require_infused",
    "scope_of",
    "write_pdf",
    "write_report",
]
