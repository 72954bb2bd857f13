"""SDTM dates and study days: pure functions, no I/O, no clock.

SDTMIG 3.4 (CDISC, 2021) defines the study day of a record as the number of days from the
reference start date RFSTDTC, counting that date as day 1 and the day before it as day −1:
there is no day 0. CAR-T protocols count the infusion day as day 0. neurocart takes RFSTDTC =
the CAR-T infusion, so CAR-T day 0 is SDTM day 1, CAR-T day 14 is SDTM day 15, and CAR-T day
−5 (lymphodepletion) stays −5. The protocol's own day is carried beside it as the sponsor
variable CARTDY in the SUPP-- datasets.

Days are counted on *site-local calendar dates*, never from elapsed hours: 08:00 the morning
after a 14:00 infusion is less than 24 h later but on the next date, so SDTM day 2.

    >>> from datetime import date
    >>> sdtm_day(date(2025, 3, 1), date(2025, 3, 1))
    1
    >>> sdtm_day(date(2025, 2, 28), date(2025, 3, 1))
    -1
    >>> cart_day(date(2025, 3, 15), date(2025, 3, 1)), sdtm_day(date(2025, 3, 15), date(2025, 3, 1))
    (14, 15)
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

ISO8601 = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?)?)?)?$")
"""The --DTC forms neurocart writes (year, month, date, date and time to the minute or second)."""


def cart_day(day: date, infusion: date) -> int:
    """The CAR-T protocol day: infusion day 0, the day before −1 (plain date difference)."""
    return (day - infusion).days


def sdtm_day(day: date, reference: date) -> int:
    """--DY: `day − reference + 1` on or after the reference date, the plain difference before.

    Never 0. `reference` is the subject's RFSTDTC date (the CAR-T infusion).
    """
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta


def sdtm_day_of_cart_day(day: int) -> int:
    """The SDTM --DY of a CAR-T protocol day (day 0 → 1, day −5 → −5)."""
    return day + 1 if day >= 0 else day


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The site-local calendar date of a tz-aware instant."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(zone).date()


def dtc(instant: datetime | None, zone: ZoneInfo) -> str:
    """An ISO 8601 --DTC in site-local time without offset, to the second ("" when missing)."""
    if instant is None:
        return ""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


def dtc_date(day: date | None) -> str:
    """An ISO 8601 date --DTC ("" when missing)."""
    return "" if day is None else day.isoformat()


def dtc_day_part(value: str) -> date | None:
    """The calendar date of a complete --DTC (None for a partial or empty one)."""
    if len(value) < 10:
        return None
    return date.fromisoformat(value[:10])


def age_at(birth_year: int, reference: date) -> int:
    """AGE in years at RFSTDTC from the birth year alone (±1 year: the birthday is not held).

    Taken as the age reached on 1 July of the reference year's birthdays, i.e. reference year −
    birth year, minus one before 1 July (the expected age with a birthday uniform in the year).
    """
    age = reference.year - birth_year
    return age - 1 if (reference.month, reference.day) < (7, 1) else age


def iso_duration_hours(hours: float) -> str:
    """An ISO 8601 duration in whole or fractional hours, e.g. PCELTM "PT36H" or "-PT2H"."""
    sign = "-" if hours < 0 else ""
    value = abs(hours)
    text = f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.2f}".rstrip("0")
    return f"{sign}PT{text}H"
