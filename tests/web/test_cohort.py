"""The Cohort page: tables and figures of the stored cohort, cached, role-aware, downloadable."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest

from neurocart.security import Role, is_allowed
from neurocart.store import repo
from neurocart.store.repo import ObservationIn
from neurocart.web.cohort import CohortCache
from tests.web.conftest import World, client_as
from tests.web.seed import USERNAMES

HEADLINE = ("outcome_summary", "relapse_free_survival", "drug_free_remission", "toxicity",
            "responder_effect_sizes")  # fmt: skip


def test_the_page_needs_a_login(world: World) -> None:
    for path in ("/cohort", "/cohort/figures/km.png", "/cohort/report.zip"):
        response = client_as(world, None).get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_an_investigator_sees_tables_figures_and_the_download(world: World) -> None:
    client = client_as(world, Role.INVESTIGATOR)
    response = client.get("/cohort")
    assert response.status_code == 200, response.text
    html = response.text
    assert 'aria-current="page">Cohort</a>' in html
    assert "Cohort definition." in html
    assert "all sites" in html
    assert "sqlite:///" in html  # the data source is named
    for name in HEADLINE:
        assert f'data-table="{name}"' in html, name
    assert "Relapse-free, % (95 % CI)" in html
    assert "Rate, % (exact 95 % CI)" in html
    figures = re.findall(r'<img src="(/cohort/figures/(\w+)\.png\?[^"]+)"', html)
    assert {"km", "swimmer", "spider", "kinetics"} <= {name for _, name in figures}
    for src, _name in figures:
        image = client.get(src.replace("&amp;", "&"))
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")
    assert 'id="cohort-download"' in html


def test_the_analysis_is_cached_until_the_record_changes(world: World) -> None:
    client = client_as(world, Role.INVESTIGATOR)
    assert client.get("/cohort").status_code == 200
    cache = world.app.state.cohort_cache
    assert isinstance(cache, CohortCache)
    before = cache.computations
    assert client.get("/cohort").status_code == 200
    assert client.get("/cohort/figures/km.png").status_code == 200
    assert cache.computations == before  # no recomputation on a repeated view
    with world.database.transaction() as session:
        actor = repo.get_user_by_username(session, USERNAMES[Role.NURSE])
        assert actor is not None
        patient = repo.find_patient(session, world.seeded.acute[0])
        repo.add_observation(
            session,
            actor,
            ObservationIn(
                patient_id=patient.id, code="8310-5", value=37.2, unit="Cel",
                effective_at=world.seeded.now - timedelta(minutes=5), specimen="blood",
                code_system="http://loinc.org", source="test",
            ),
        )  # fmt: skip
    assert client.get("/cohort").status_code == 200
    assert cache.computations == before + 1


@pytest.mark.parametrize("role", list(Role))
def test_the_permission_matrix_decides(world: World, role: Role) -> None:
    client = client_as(world, role)
    page = client.get("/cohort")
    nav = client.get("/board").text
    if is_allowed(role, "reports", "read"):
        assert page.status_code == 200
        assert 'href="/cohort"' in nav
    else:
        assert page.status_code == 403
        assert 'href="/cohort"' not in nav
    may_export = is_allowed(role, "reports", "write")
    assert ('id="cohort-download"' in page.text) == may_export
    if not may_export:
        assert client.get("/cohort/report.zip").status_code == 403


def test_the_download_zips_html_pdf_and_csv(world: World) -> None:
    client = client_as(world, Role.DATA_MANAGER)
    response = client.get("/cohort/report.zip?cutoff=" + world.seeded.now.date().isoformat())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    names = set(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    assert {"report.html", "report.pdf", "tables/drug_free_remission.csv"} <= names
    assert "figures/km.png" in names


def test_bad_cutoff_and_an_empty_cohort_are_explained(world: World) -> None:
    client = client_as(world, Role.INVESTIGATOR)
    bad = client.get("/cohort?cutoff=2026-02-30")
    assert bad.status_code == 422
    assert "cutoff: expected a date YYYY-MM-DD, got &#39;2026-02-30&#39;" in bad.text
    early = client.get("/cohort?cutoff=2000-01-01")
    assert early.status_code == 200
    assert "Nothing to analyse" in early.text
    assert "before the first infusion" in early.text
    assert client.get("/cohort/figures/km.png?cutoff=2000-01-01").status_code == 404
    nowhere = client.get("/cohort?site=nowhere")
    assert "no patients at site" in nowhere.text


def test_the_default_cutoff_is_today_on_the_site_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 03:00 Beijing time (19:00 UTC the day before) the page's cut-off is the Beijing date."""
    from types import SimpleNamespace

    from neurocart.config import get_settings
    from neurocart.web.cohort import parse_cutoff

    night = datetime(2025, 3, 2, 19, 0, tzinfo=UTC)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(clock=lambda: night)))
    monkeypatch.setenv("NEUROCART_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    try:
        assert parse_cutoff(request, None) == date(2025, 3, 3)  # type: ignore[arg-type]
        assert parse_cutoff(request, "2025-02-01") == date(2025, 2, 1)  # type: ignore[arg-type]
        assert parse_cutoff(request, "2025年2月1日") == date(2025, 2, 1)  # type: ignore[arg-type]
    finally:
        get_settings.cache_clear()


def test_a_chinese_definition_and_refusal_write_the_dates_the_chinese_way(world: World) -> None:
    client = client_as(world, Role.INVESTIGATOR)
    early = client.get("/cohort?cutoff=2000-01-01", headers={"Accept-Language": "zh-CN"})
    assert "2000年1月1日" in early.text
    assert "2000-01-01" not in early.text.split('value="2000-01-01"')[-1]  # only the field


def test_the_chinese_page_has_its_headings_captions_and_cells_in_chinese(world: World) -> None:
    client = client_as(world, Role.INVESTIGATOR)
    page = client.get("/cohort", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    text = page.text
    chinese_words = ("应答者与无应答者比较", "无复发生存（Kaplan–Meier）", "按疾病（见上）",
                     "均值（SD）")  # fmt: skip
    for chinese in chinese_words:
        assert chinese in text, chinese
    for english in (
        "Responders vs non-responders", "Relapse-free survival (Kaplan–Meier)",
        "per disease", "mean (SD)", "Grade 1 (n)", "Hazard ratios of relapse or death",
        "Last detectable", "Project-Id-Version",
    ):  # fmt: skip
        assert english not in text, english


BIOMARKER_TABLES = ("csf_index_change", "ocb_conversion", "mri_activity_free",
                    "antibody_titre_course", "timed_test_worsening")  # fmt: skip


def test_the_page_shows_the_reports_biomarker_tables(world: World) -> None:
    """κFLC/IgG index before vs after with the paired test, OCB conversion, MRI activity-free,
    antibody titre course and timed-test worsening are on the page, built by the report's own
    table code (the same markup as the report's), and in the download."""
    from neurocart.reports.tables import html_table

    client = client_as(world, Role.INVESTIGATOR)
    html = client.get("/cohort").text
    assert 'id="cohort-biomarkers"' in html
    assert "Neuro-immunology readouts" in html
    assert "κFLC index and IgG index before vs after infusion" in html
    assert "Wilcoxon p" in html
    assert "two-sided Wilcoxon signed-rank test" in html  # the report's caption says how
    cache = world.app.state.cohort_cache
    assert isinstance(cache, CohortCache)
    (view,) = [v for k, v in cache.entries.items() if k[-1] == "en" and k[-2] is None][-1:]
    for name in BIOMARKER_TABLES:
        assert f'id="table-{name}"' in html, name
        assert html_table(name, view.result.tables[name]) in html, name
    assert "/cohort/figures/spider_kflc.png" in html
    zipped = client_as(world, Role.DATA_MANAGER).get("/cohort/report.zip")
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    report = archive.read("report.html").decode()
    for name in BIOMARKER_TABLES:
        assert f"tables/{name}.csv" in archive.namelist(), name
        assert f'data-table="{name}"' in report, name


def test_the_biomarker_headings_are_chinese_on_the_chinese_page(world: World) -> None:
    text = (
        client_as(world, Role.INVESTIGATOR)
        .get("/cohort", headers={"Accept-Language": "zh-CN"})
        .text
    )
    assert 'id="table-csf_index_change"' in text
    for english in ("κFLC index and IgG index before vs after infusion",
                    "MRI activity-free at 12 and 24 months", "Neuro-immunology readouts",
                    "Oligoclonal bands: patients with CSF-specific bands"):  # fmt: skip
        assert english not in text, english
    assert "κFLC指数与IgG指数：回输前后对比" in text
