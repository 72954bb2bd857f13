"""The study day: how far a moment lies from the CAR-T infusion, counted as the clinic counts.

Day 0 is the day of the infusion and the day before it is day -1 (there is no "day 0 is
missing" convention here; SDTM exports convert to their own rule). A day is a 24-hour period
from the infusion instant: a fever 23 hours after the infusion is on day 0, one 25 hours
after on day 1. Rules that count hours since the infusion use the instant itself, not this.

This module is the one definition; it is pure (no clock, no store) so that the monitor
engine, the pathway engine and the services can all call it.

    >>> from datetime import UTC, datetime
    >>> infusion = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    >>> study_day(infusion, datetime(2025, 3, 4, 9, 59, tzinfo=UTC))
    0
    >>> study_day(infusion, datetime(2025, 3, 4, 10, 0, tzinfo=UTC))
    1
    >>> study_day(infusion, datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    -1
    >>> study_day(None, infusion) is None
    True
"""

from __future__ import annotations

from datetime import datetime, timedelta

DAY = timedelta(days=1)


def study_day(infusion_at: datetime | None, at: datetime) -> int | None:
    """Whole study days from the infusion instant to `at` (None before a course is infused)."""
    if infusion_at is None:
        return None
    return (at - infusion_at) // DAY


def study_days_fractional(infusion_at: datetime | None, at: datetime) -> float | None:
    """Days since the infusion as a real number (for plotting a course over study days)."""
    if infusion_at is None:
        return None
    return (at - infusion_at) / DAY
