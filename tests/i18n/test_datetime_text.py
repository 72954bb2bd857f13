"""A chart's thousands of point labels (`format_datetimes`) read as `format_datetime` always
wrote each one: on the site's clock, with the offset of that instant (across a change of
summer time), in either language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from neurocart import i18n
from neurocart.config import get_settings

ZONES = ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Asia/Shanghai"]


def _as_written_before(at: datetime) -> str:
    """`format_datetime` as it was written before the labels were made in bulk."""
    zone = i18n.site_zone()
    moment = i18n.local(at, zone)
    text = f"{i18n.format_date(moment.date())} {moment:%H:%M}"
    offset = at.astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        label = "UTC"
    else:
        hours, rest = divmod(abs(minutes), 60)
        label = f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")
    return f"{text}（{label}）" if i18n.current() == "zh_CN" else f"{text} {label}"


def _instants() -> Iterator[datetime]:
    for start in (
        datetime(2025, 3, 30, 0, 0, tzinfo=UTC),
        datetime(2025, 10, 26, 0, 0, tzinfo=UTC),
    ):
        for minutes in range(0, 24 * 60, 17):  # through the night summer time starts or ends
            yield start + timedelta(minutes=minutes, seconds=59, microseconds=999_999)
    yield datetime(2025, 3, 3, 23, 59, 59, tzinfo=ZoneInfo("Asia/Tokyo"))  # aware, not UTC
    yield datetime(2025, 3, 3, 12, 0)  # naive: taken as UTC


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_labels_in_bulk_are_format_datetime(
    monkeypatch: pytest.MonkeyPatch, zone: str, language: str
) -> None:
    monkeypatch.setenv("NEUROCART_TIMEZONE", zone)
    get_settings.cache_clear()
    try:
        instants = list(_instants())
        with i18n.using(language):
            expected = [_as_written_before(at) for at in instants]
            assert i18n.format_datetimes(instants) == expected
            assert [i18n.format_datetime(at) for at in instants] == expected
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "typed",
    ["2025-03-03 03:04", "2025-03-03T03:04", " 2025/3/3 3:04 ", "2025.03.03 03:04",
     "2025年3月3日 03:04", "2025年3月3日3时04分", "2025-03-03 03:04:00"],
)  # fmt: skip
def test_a_typed_local_time_reads_in_the_ways_a_ward_writes_it(typed: str) -> None:
    assert i18n.parse_local(typed) == datetime(2025, 3, 3, 3, 4)


@pytest.mark.parametrize("typed", ["03/03/2025, 03:04 AM", "2025-02-30 10:00", "2025-03-03"])
def test_a_time_that_is_not_one_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r"isoformat|out of range|no time of day"):
        i18n.parse_local(typed)


@pytest.mark.parametrize(
    "typed", ["2025-03-03", " 2025/3/3 ", "2025.03.03", "2025年3月3日", "2025 年 3 月 3 日"]
)
def test_a_typed_date_reads_in_the_ways_a_ward_writes_it(typed: str) -> None:
    assert i18n.parse_local_date(typed) == date(2025, 3, 3)


@pytest.mark.parametrize("typed", ["03/03/2025", "3.3.2025", "2025-02-30", "2025-03-03 10:00", ""])
def test_a_date_that_is_not_one_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r"not a date|out of range"):
        i18n.parse_local_date(typed)


def test_an_offset_given_is_kept_and_the_field_shows_the_24_hour_clock() -> None:
    aware = i18n.parse_local("2025-03-03T03:04+08:00")
    assert aware == datetime(2025, 3, 2, 19, 4, tzinfo=UTC)
    assert i18n.local_input(datetime(2025, 3, 3, 7, 4, tzinfo=UTC)) == "2025-03-03 07:04"
