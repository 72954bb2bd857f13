"""The Cohort page in headless Chromium: tables and the report's figures load, the values
drawn in the relapse-free survival figure match its table, synthetic data is said, axe-core."""

from __future__ import annotations

from typing import Any

import pytest

from neurocart.security import Role
from tests.e2e.axe import describe, serious_violations
from tests.e2e.conftest import SKIP_REASON, Live, login, shot
from tests.web.seed import USERNAMES

pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

MIN_AT_RISK = 5


def _rows(page: Any, selector: str) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim()))",
    )
    return rows


def test_the_investigator_sees_the_cohort_page(page: Any, live: Live) -> None:
    login(page, USERNAMES[Role.INVESTIGATOR])
    with page.expect_navigation(timeout=60_000):  # the first analysis takes a while
        page.click("nav >> text=Cohort", no_wait_after=True)
    page.wait_for_url("**/cohort")
    assert page.locator('table[data-table="drug_free_remission"]').count() == 1
    assert "Cohort definition." in page.inner_text("#cohort-definition")
    assert "Synthetic data." in page.inner_text("#synthetic-notice")
    images = page.locator("figure.cohort-figure img")
    assert images.count() >= 4
    page.wait_for_function(
        "[...document.querySelectorAll('figure.cohort-figure img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#cohort-download").is_visible()
    shot(page, "cohort")
    violations = serious_violations(page)
    assert not violations, describe(violations)


def test_the_survival_figure_draws_what_its_table_says(page: Any, live: Live) -> None:
    login(page, USERNAMES[Role.INVESTIGATOR])
    page.goto("/cohort", timeout=60_000)
    table = _rows(page, 'table[data-table="relapse_free_survival"]')
    headers = page.eval_on_selector_all(
        'table[data-table="relapse_free_survival"] thead th', "hs => hs.map(h => h.textContent)"
    )
    col = {h.strip().lower(): i for i, h in enumerate(headers)}
    group_i = next(i for h, i in col.items() if "group" in h or "disease" in h)
    month_i = next(i for h, i in col.items() if "month" in h)
    risk_i = next(i for h, i in col.items() if "risk" in h)
    surv_i = next(i for h, i in col.items() if "relapse-free" in h)
    plotted = {(g, m): v for g, m, v in _rows(page, 'table[data-table="km-plotted"]')}
    assert plotted
    compared = 0
    for row in table:
        key = (row[group_i], row[month_i])
        if key not in plotted:
            continue
        at_risk = int(row[risk_i].replace(",", "") or 0)
        if at_risk >= MIN_AT_RISK:
            assert plotted[key] == row[surv_i].split()[0], (key, plotted[key], row)
            compared += 1
        else:
            assert plotted[key] == "—", (key, plotted[key])
    assert compared or all(v == "—" for v in plotted.values())
