"""Pages in the reader's language (stored preference, Accept-Language, site default) and on the
site's clock."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from neurocart.config import get_settings
from neurocart.security import Role
from neurocart.store import repo
from tests.web.conftest import World, client_as
from tests.web.seed import USERNAMES


def _locale_of(world: World, role: Role) -> str | None:
    with world.database.reading() as session:
        user = repo.get_user_by_username(session, USERNAMES[role])
        assert user is not None
        return user.locale


@pytest.fixture
def shanghai(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZoneInfo]:
    """The site runs on Beijing time for one test."""
    monkeypatch.setenv("NEUROCART_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    yield ZoneInfo("Asia/Shanghai")
    get_settings.cache_clear()


def test_the_login_page_follows_the_browser_language(world: World) -> None:
    anonymous = client_as(world, None)
    chinese = anonymous.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN">' in chinese.text
    assert "用户名" in chinese.text
    assert "登录" in chinese.text
    english = anonymous.get("/login", headers={"Accept-Language": "en-US"})
    assert "Username" in english.text
    assert "用户名" not in english.text
    assert "Username" in anonymous.get("/login").text  # site default: English


def test_the_switch_stores_the_users_preference_over_the_browsers(world: World) -> None:
    nurse = client_as(world, Role.NURSE)
    english = {"Accept-Language": "en"}
    switched = nurse.post(
        "/language", data={"locale": "zh_CN", "next": "/board"}, follow_redirects=False
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/board"
    assert _locale_of(world, Role.NURSE) == "zh_CN"
    board = nurse.get("/board", headers=english)
    assert "病房看板" in board.text
    assert "Ward board" not in board.text
    assert 'aria-current="true">中文' in board.text  # the switch shows the language in use
    panel = nurse.get("/board/panel", headers=english)
    assert "实时 · 更新于" in panel.text
    nurse.post("/language", data={"locale": "en", "next": "/board"})
    assert _locale_of(world, Role.NURSE) == "en"
    assert "Ward board" in nurse.get("/board", headers={"Accept-Language": "zh-CN"}).text
    # the panel the board swaps in is the reader's language too, not the cached Chinese one
    for headers in ({}, {"Accept-Encoding": "gzip"}):
        again = nurse.get("/board/panel", headers=headers)
        assert "live · updated" in again.text
        assert "实时" not in again.text


def test_an_unknown_language_is_a_400_naming_the_field(world: World) -> None:
    refused = client_as(world, Role.NURSE).post("/language", data={"locale": "xx", "next": "/"})
    assert refused.status_code == 400
    assert "locale" in refused.text


def test_a_chinese_chart_keeps_scale_abbreviations_and_units(world: World) -> None:
    doctor = client_as(world, Role.HEMATOLOGIST)
    sid = world.seeded.acute[0]
    page = doctor.get(f"/patients/{sid}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "诊疗路径" in page.text
    assert "研究日" in page.text
    assert "CRS" in page.text
    assert "ICANS" in page.text
    form = doctor.get(f"/patients/{sid}/assess/crs", headers={"Accept-Language": "zh-CN"})
    assert "体温" in form.text
    assert "吸氧方式" in form.text


def test_forms_take_the_site_wall_clock(world: World, shanghai: ZoneInfo) -> None:
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    page = nurse.get(f"/patients/{sid}/record/vitals")
    assert "(UTC+8)" in page.text
    # a text field on the 24-hour clock, not the browser's picker (AM/PM in English browsers)
    assert "datetime-local" not in page.text
    shown = re.search(r'name="at" id="e-at" value="([^"]*)"', page.text)
    assert shown is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", shown[1])
    stop = client_as(world, Role.ICU).get(f"/patients/{sid}/record/vasopressor").text
    assert re.search(r'<label for="e-stopped_at">[^<]*\(UTC\+8\)</label>', stop)
    local = (
        (datetime.now(UTC) - timedelta(minutes=10))
        .astimezone(shanghai)
        .replace(second=0, microsecond=0)
    )
    response = nurse.post(
        f"/patients/{sid}/record/vitals",
        data={"temperature": "37.1", "temperature__unit": "°C",
              "at": f"{local:%Y}年{local.month}月{local.day}日 {local.hour}:{local:%M}"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303, response.text
    with world.database.reading() as session:
        patient = repo.find_patient(session, sid)
        latest = max(repo.list_observations(session, patient.id), key=lambda o: o.id)
    assert latest.effective_at == local.astimezone(UTC)  # stored as the UTC instant


def test_a_chinese_preview_stores_the_english_record_of_truth(world: World) -> None:
    sid = world.seeded.acute[1]
    nurse = client_as(world, Role.NEUROLOGIST)  # no stored preference
    zh = {"Accept-Language": "zh-CN"}
    ice = {"orientation": "3", "naming": "2", "commands": "1", "writing": "1", "attention": "1"}
    preview = nurse.post(f"/patients/{sid}/assess/ice/preview", data=ice, headers=zh)
    assert "ICE评分 8/10" in preview.text  # the reason, in Chinese
    assert "定向力（年份、月份、城市、医院）：3/4" in preview.text
    assert "Project-Id-Version" not in preview.text  # the empty error slots stay empty
    saved = nurse.post(f"/patients/{sid}/assess/ice", data=ice, headers=zh, follow_redirects=False)
    assert saved.status_code == 303
    with world.database.reading() as session:
        patient = repo.find_patient(session, sid)
        latest = max(
            repo.list_assessments(session, patient.id, instrument="ice"), key=lambda a: a.id
        )
    assert "ICE score 8/10" in latest.result["reasons"]  # stored in English, as the API serves it


def test_the_bedside_correction_errors_read_in_chinese(world: World) -> None:
    sid = world.seeded.acute[0]
    doctor = client_as(world, Role.HEMATOLOGIST)  # no stored preference
    with world.database.reading() as session:
        patient = repo.find_patient(session, sid)
        old = repo.list_observations(session, patient.id)[-1]
    refused = doctor.post(
        f"/patients/{sid}/correct/observation/{old.id}",
        data={"value": "", "reason": ""},
        headers={"Accept-Language": "zh-CN"},
    )
    assert refused.status_code == 422
    assert "必填：请说明更正该数值的原因（至少 3 个字符）" in refused.text
    assert "必填：更正后的数值（或选择“录入错误”）" in refused.text
    assert "say why" not in refused.text


ZH = {"Accept-Language": "zh-CN"}


def test_an_implausible_value_is_refused_in_chinese_on_the_form(world: World) -> None:
    """The ingest's plausibility problem, live and on saving, in the reader's language; the
    record of truth (and an English reader) keep the English text."""
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NEUROLOGIST)  # no stored preference: the header decides
    said = "60 °C 超出体温（8310-5）生理上可能的范围 14–47 °C"
    live = nurse.post(
        f"/patients/{sid}/record/vitals/check", data={"temperature": "60"}, headers=ZH
    )
    assert said in live.text
    assert "physiologically possible" not in live.text
    saved = nurse.post(f"/patients/{sid}/record/vitals", data={"temperature": "60"}, headers=ZH)
    assert saved.status_code == 422
    assert said in saved.text
    english = nurse.post(f"/patients/{sid}/record/vitals/check", data={"temperature": "60"})
    assert "60 °C is outside the physiologically possible range" in english.text


def test_an_implausible_correction_is_refused_in_chinese(world: World) -> None:
    from tests.web.seed import PASSWORD

    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    nurse.post("/language", data={"locale": "zh_CN", "next": "/board"})
    try:
        with world.database.reading() as session:
            patient = repo.find_patient(session, sid)
            old = next(
                o for o in reversed(repo.list_observations(session, patient.id))
                if o.code == "8310-5"
            )  # fmt: skip
        refused = nurse.post(
            f"/patients/{sid}/correct/observation/{old.id}",
            data={"value": "60", "reason": "typo", "password": PASSWORD},
        )
    finally:
        nurse.post("/language", data={"locale": "en", "next": "/board"})
    assert refused.status_code == 422
    assert "value：60 °C 超出体温（8310-5）生理上可能的范围" in refused.text
    assert "physiologically possible" not in refused.text


def test_the_chart_and_its_refusals_speak_chinese(world: World) -> None:
    sid = world.seeded.acute[0]
    nurse = client_as(world, Role.NURSE)
    nurse.post("/language", data={"locale": "zh_CN", "next": "/board"})
    try:
        chart = nurse.get(f"/patients/{sid}").text
        missing = nurse.get("/patients/NC-NOBODY")
        refused = nurse.post(
            f"/patients/{sid}/tasks/done", data={"task_id": "x", "event": "nonsense"}
        )
    finally:
        nurse.post("/language", data={"locale": "en", "next": "/board"})
    assert "发热 38.0 °C" in chart  # the thresholds' labels
    assert "收缩压 90 mmHg" in chart
    assert "fever 38.0 °C" not in chart
    assert "CRS与ICANS分级" in chart  # the grade figure's title and axis
    latest = chart.split('id="latest-values"')[1].split("</table>")[0]
    assert "体温" in latest  # the latest values by name, not by LOINC number alone
    assert "CRS and ICANS grade" not in chart
    assert "年出生" in chart
    assert ", 19" not in chart
    assert ", 20" not in chart
    assert missing.status_code == 404
    assert "没有研究编号为 'NC-NOBODY' 的患者。" in html.unescape(missing.text)
    assert refused.status_code == 422
    assert "task：未知的时段或完成事件" in refused.text
