"""A ward team that prefers Chinese, on Beijing time: the board, a form and an alert in Chinese,
then English.

Screenshots: tests/e2e/screenshots/zh-*.png (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from neurocart.config import get_settings
from neurocart.security import Role, hash_password
from neurocart.store import repo
from tests.e2e.conftest import SKIP_REASON, Live, login, shot
from tests.e2e.test_browser import card, post_fever
from tests.web.seed import PASSWORD

pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")

ZH_NURSE = "zh.nurse"


@pytest.fixture
def beijing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The live server runs on Beijing time for this test (it reads the process settings)."""
    monkeypatch.setenv("NEUROCART_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("NEUROCART_TIMEZONE")
    get_settings.cache_clear()


@pytest.fixture
def zh_page(browser: Any, live: Live) -> Iterator[Any]:
    """A tablet whose browser runs in Chinese (its date-time pickers use a 24-hour clock)."""
    context = browser.new_context(
        viewport={"width": 1180, "height": 820}, base_url=live.url, locale="zh-CN"
    )
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def chinese_nurse(live: Live) -> str:
    """A nurse account whose stored preference is Chinese (the browser asks for English)."""
    with live.database.transaction() as session:
        user = repo.get_user_by_username(session, ZH_NURSE)
        if user is None:
            user = repo.create_user(
                session, None, username=ZH_NURSE, password_hash=hash_password(PASSWORD),
                role=Role.NURSE,
            )  # fmt: skip
        repo.update_user(session, None, user.id, locale="zh_CN")
    return ZH_NURSE


def _fits(page: Any) -> bool:
    """Nothing wider than the viewport (no horizontal scrolling from longer labels)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_a_chinese_team_works_in_chinese_and_can_switch(
    zh_page: Any, live: Live, chinese_nurse: str, beijing: None
) -> None:
    page = zh_page
    study_id = live.seeded.acute[2]
    post_fever(live, study_id, 38.9)
    login(page, chinese_nurse)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "病房看板" in page.inner_text("h1")
    alert = card(page, study_id).locator(".alert").first
    alert.wait_for(timeout=15_000)
    text = alert.inner_text()
    assert "回输后发热" in text or "CRS" in text
    assert "已通知" in text  # "paged:"
    assert "血液科" in text or "护理" in text  # the paged discipline, translated
    assert "确认" in text  # acknowledge (the button, or who is to acknowledge)
    assert _fits(page)
    shot(page, "zh-board")

    assert "时间：UTC+8" in page.inner_text("header")
    page.goto(f"/patients/{study_id}/record/vitals")
    assert "体温" in page.inner_text("main")
    assert "测量时间（UTC+8）" in page.inner_text("main")
    assert "保存" in page.inner_text("#save-button")
    assert _fits(page)
    shot(page, "zh-vitals-form")

    page.goto(f"/patients/{study_id}/assess/ice")
    assert "定向力" in page.inner_text("main")
    assert _fits(page)
    shot(page, "zh-ice-form")

    page.goto(f"/patients/{study_id}")
    assert "诊疗路径" in page.inner_text("main")
    assert _fits(page)
    shot(page, "zh-chart")

    # the user's stored preference wins over the browser's Chinese
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Pathway" in page.inner_text("main")
    page.goto("/board")
    assert "Ward board" in page.inner_text("h1")
    with live.database.reading() as session:
        stored = repo.get_user_by_username(session, chinese_nurse)
        assert stored is not None
        assert stored.locale == "en"
