"""Cohort reports: self-contained HTML (figures embedded), PDF, and every table as CSV."""

from __future__ import annotations

from neurocart.reports.build import ReportFiles, build_report, render_html, write_pdf

__all__ = ["ReportFiles", "build_report", "render_html", "write_pdf"]
