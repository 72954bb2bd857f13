"""The study day is the calendar day on the site's clock, counted from the local infusion day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from neurocart import i18n
from neurocart.config import get_settings
from neurocart.studyday import study_day, study_days

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def at(zone: ZoneInfo | type[UTC] | object, *args: int) -> datetime:
    """A wall-clock time in `zone` as the UTC instant the store keeps."""
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type, misc]


@pytest.mark.parametrize("zone", [SHANGHAI, UTC], ids=["Asia/Shanghai", "UTC"])
def test_midnight_on_the_site_clock_starts_day_1(zone: ZoneInfo) -> None:
    infusion = at(zone, 2025, 3, 3, 10, 0)
    assert study_day(infusion, at(zone, 2025, 3, 3, 23, 30), zone) == 0
    assert study_day(infusion, at(zone, 2025, 3, 4, 0, 30), zone) == 1
    assert study_day(infusion, at(zone, 2025, 3, 3, 0, 5), zone) == 0  # before the infusion
    assert study_day(infusion, at(zone, 2025, 3, 2, 23, 59), zone) == -1


def test_beijing_morning_after_infusion_is_day_1_though_under_24_hours() -> None:
    infusion = at(SHANGHAI, 2025, 3, 3, 15, 0)  # 07:00 UTC
    morning = at(SHANGHAI, 2025, 3, 4, 7, 30)  # 16.5 h later, and still 3 March in UTC
    assert morning.date().isoformat() == "2025-03-03"
    assert study_day(infusion, morning, SHANGHAI) == 1
    assert study_day(infusion, morning, UTC) == 0  # the same instants counted in London


def test_daylight_saving_switch_changes_hours_not_days() -> None:
    # Europe/Berlin springs forward on 30 March 2025 (02:00 → 03:00): that local day is 23 h.
    infusion = at(BERLIN, 2025, 3, 29, 22, 0)
    assert study_day(infusion, at(BERLIN, 2025, 3, 30, 0, 30), BERLIN) == 1
    assert study_day(infusion, at(BERLIN, 2025, 3, 30, 23, 30), BERLIN) == 1
    assert study_day(infusion, at(BERLIN, 2025, 3, 31, 0, 0), BERLIN) == 2
    # falls back on 26 October 2025 (03:00 → 02:00): that local day is 25 h.
    autumn = at(BERLIN, 2025, 10, 25, 23, 0)
    late = datetime(2025, 10, 26, 23, 59, tzinfo=BERLIN).astimezone(UTC)
    assert late - datetime(2025, 10, 26, 0, 0, tzinfo=BERLIN).astimezone(UTC) > timedelta(hours=24)
    assert study_day(autumn, late, BERLIN) == 1


def test_the_frame_version_agrees_with_the_scalar_one() -> None:
    infusion = at(SHANGHAI, 2025, 3, 3, 10, 0)
    moments = [at(SHANGHAI, 2025, 3, 3, 23, 30), at(SHANGHAI, 2025, 3, 4, 0, 30), infusion]
    days = study_days(pd.Series(moments), pd.Series([infusion] * 3), SHANGHAI)
    assert days.tolist() == [study_day(infusion, m, SHANGHAI) for m in moments]
    assert study_days(pd.Series([moments[0]]), pd.Series([pd.NaT]), SHANGHAI).isna().all()


def test_the_site_setting_is_the_default_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROCART_TIMEZONE", "Asia/Shanghai")
    get_settings.cache_clear()
    try:
        infusion = at(SHANGHAI, 2025, 3, 3, 10, 0)
        assert study_day(infusion, at(SHANGHAI, 2025, 3, 4, 0, 30)) == 1
        assert i18n.zone_label() == "UTC+8"
    finally:
        get_settings.cache_clear()


def test_an_unknown_zone_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from neurocart.config import Settings

    with pytest.raises(ValidationError, match="Mars/Olympus"):
        Settings(timezone="Mars/Olympus")
