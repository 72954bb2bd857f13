"""Cohort reports: self-contained HTML (figures embedded), PDF, and every table as CSV."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurocart.lazy import lazy_getattr

if TYPE_CHECKING:
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

_EXPORTS: dict[str, str] = {
    "ReportFiles": "neurocart.reports.build",
    "build_report": "neurocart.reports.build",
    "figure_pngs": "neurocart.reports.build",
    "render_html": "neurocart.reports.build",
    "write_pdf": "neurocart.reports.build",
    "write_report": "neurocart.reports.build",
    "CohortScope": "neurocart.reports.scope",
    "CohortScopeError": "neurocart.reports.scope",
    "load_cohort": "neurocart.reports.scope",
    "mask_url": "neurocart.reports.scope",
    "require_infused": "neurocart.reports.scope",
    "scope_of": "neurocart.reports.scope",
    "html_table": "neurocart.reports.tables",
}
"""Where each public name lives: imported on first use, so that importing the package
(or one of its light modules) does not load the statistics and plotting libraries."""


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


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
