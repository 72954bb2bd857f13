"""SDTM study days and visits (SDTMIG 3.4, CDISC 2021: --DY has no day 0; RFSTDTC = day 1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurocart.interop.sdtm.days import (
    ISO8601,
    age_at,
    cart_day,
    dtc,
    iso_duration_hours,
    local_date,
    sdtm_day,
    sdtm_day_of_cart_day,
)
from neurocart.interop.sdtm.visits import VISITS, visit_of

REF = date(2025, 3, 1)


@pytest.mark.parametrize(("cart", "sdtm"), [(-5, -5), (-1, -1), (0, 1), (1, 2), (14, 15), (91, 92)])
def test_the_cart_day_table(cart: int, sdtm: int) -> None:
    day = REF + timedelta(days=cart)
    assert cart_day(day, REF) == cart
    assert sdtm_day(day, REF) == sdtm
    assert sdtm_day_of_cart_day(cart) == sdtm


def test_days_follow_the_site_local_date_not_elapsed_hours() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    infusion = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)  # 14:00 local
    next_morning = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)  # 08:00 local, 18 h later
    ref = local_date(infusion, zone)
    assert sdtm_day(local_date(next_morning, zone), ref) == 2
    # a 07:00 local sample on infusion day is 23:00 UTC the day before, still SDTM day 1
    early = datetime(2025, 5, 31, 23, 0, tzinfo=UTC)
    assert sdtm_day(local_date(early, zone), ref) == 1
    assert dtc(early, zone) == "2025-06-01T07:00:00"


@given(st.integers(-3000, 3000))
def test_never_day_zero_and_increasing(offset: int) -> None:
    day = REF + timedelta(days=offset)
    assert sdtm_day(day, REF) != 0
    assert sdtm_day(day + timedelta(days=1), REF) > sdtm_day(day, REF)
    assert sdtm_day(day, REF) == sdtm_day_of_cart_day(cart_day(day, REF))


def test_dtc_is_iso8601_and_refuses_naive_times() -> None:
    assert ISO8601.match(dtc(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), ZoneInfo("UTC")))
    assert dtc(None, ZoneInfo("UTC")) == ""
    with pytest.raises(ValueError, match="timezone-aware"):
        dtc(datetime(2025, 1, 2), ZoneInfo("UTC"))


def test_age_from_birth_year_within_a_year() -> None:
    assert age_at(1980, date(2025, 6, 30)) == 44
    assert age_at(1980, date(2025, 7, 1)) == 45


def test_elapsed_time_durations() -> None:
    assert iso_duration_hours(36) == "PT36H"
    assert iso_duration_hours(-2) == "-PT2H"
    assert iso_duration_hours(1.5) == "PT1.5H"


def test_visits_by_anchor_and_day() -> None:
    infusion, ld, aph = date(2025, 3, 10), date(2025, 3, 5), date(2025, 2, 20)

    def name(d: date) -> str:
        return visit_of(d, apheresis=aph, ld_start=ld, infusion=infusion).name

    assert name(date(2025, 2, 1)) == "SCREENING"
    assert name(aph) == "APHERESIS"
    assert name(ld) == "LYMPHODEPLETION"
    assert name(infusion) == "DAY 0"
    assert name(infusion + timedelta(days=13)) == "DAY 7"
    assert name(infusion + timedelta(days=91)) == "MONTH 3"
    assert [v.visitdy for v in VISITS if v.name in ("DAY 0", "DAY 14", "MONTH 3")] == [1, 15, 92]
