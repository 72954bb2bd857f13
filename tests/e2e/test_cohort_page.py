"""The Cohort page in headless Chromium: tables and the report's figures load, screenshot."""

from __future__ import annotations

from typing import Any

import pytest

from neurocart.security import Role
from tests.e2e.conftest import SKIP_REASON, Live, login, shot
from tests.web.seed import USERNAMES

pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def test_the_investigator_sees_the_cohort_page(page: Any, live: Live) -> None:
    login(page, USERNAMES[Role.INVESTIGATOR])
    # the first visit analyses the cohort and loads the statistics and plotting libraries
    # (they are not imported at server start): allow it more than a page's usual 10 s
    page.click("nav >> text=Cohort", timeout=60_000)
    page.wait_for_url("**/cohort", timeout=60_000)
    assert page.locator('table[data-table="drug_free_remission"]').count() == 1
    assert "Cohort definition." in page.inner_text("#cohort-definition")
    images = page.locator("figure.cohort-figure img")
    assert images.count() >= 4
    page.wait_for_function(
        "[...document.querySelectorAll('figure.cohort-figure img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#cohort-download").is_visible()
    shot(page, "cohort")
