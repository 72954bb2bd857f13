"""The study day: which day after the CAR-T infusion a moment falls on, as the clinic counts.

**Rule.** The study day is the calendar day in the site's time zone (`Settings.timezone`),
counted from the local calendar day of the infusion: day 0 is the local date of the infusion,
day 1 the next local date, day -1 the local date before it (there is no "no day 0"
convention here; SDTM exports convert to their own). A fever at 23:30 Beijing time on the
infusion day is day 0; one at 00:30 the next morning is day 1, however few hours have passed.
Across a daylight-saving switch a local day has 23 or 25 hours; the count is of dates, so it
is unaffected. Rules that count hours since the infusion (the acute-phase windows) use the
instant itself, not this.

This module is the one definition; it is pure (no clock, no store): the zone defaults to the
site's setting and can be passed explicitly, so the monitor engine, the pathway engine, the
analyses and the pages all call the same function.

    >>> from datetime import UTC, datetime
    >>> from zoneinfo import ZoneInfo
    >>> infusion = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # 18:00 in Beijing
    >>> study_day(infusion, datetime(2025, 3, 3, 15, 30, tzinfo=UTC), ZoneInfo("Asia/Shanghai"))
    0
    >>> study_day(infusion, datetime(2025, 3, 3, 16, 30, tzinfo=UTC), ZoneInfo("Asia/Shanghai"))
    1
    >>> study_day(infusion, datetime(2025, 3, 3, 23, 59, tzinfo=UTC), UTC)
    0
    >>> study_day(infusion, datetime(2025, 3, 2, 23, 0, tzinfo=UTC), UTC)
    -1
    >>> study_day(None, infusion) is None
    True
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DAY = timedelta(days=1)


def _zone(zone: tzinfo | None) -> tzinfo:
    if zone is not None:
        return zone
    from neurocart.i18n import site_zone

    return site_zone()


def zone_name(zone: tzinfo | None = None) -> str:
    """The IANA name of `zone` (default the site's), for a message: "Asia/Shanghai", "UTC"."""
    zone = _zone(zone)
    return getattr(zone, "key", None) or str(zone)


def local_date(at: datetime, zone: tzinfo | None = None) -> date:
    """The calendar date of the instant `at` in `zone` (default the site's; naive = UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(_zone(zone)).date()


def local_instant(day: date, clock: time, zone: tzinfo | None = None) -> datetime:
    """The UTC instant at which the site's clock (or `zone`'s) reads `clock` on `day`; a wall
    time that occurs twice at an autumn switch is the first one."""
    return datetime.combine(day, clock, tzinfo=_zone(zone)).astimezone(UTC)


def day_start(day: date, zone: tzinfo | None = None) -> datetime:
    """The UTC instant at which the local calendar day `day` begins: a date recorded without a
    time (an apheresis on 3 March) is that day on the site's clock, so everything recorded
    on it falls on or after this instant."""
    return local_instant(day, time(0), zone)


def on_study_day(
    infusion_at: datetime, day: int, clock: time, zone: tzinfo | None = None
) -> datetime:
    """The UTC instant of `clock` on the site's clock on study day `day` of an infusion at
    `infusion_at`: the inverse of `study_day` for a record that names its day, not its time
    (a sample sheet's "day 14")."""
    zone = _zone(zone)
    return local_instant(local_date(infusion_at, zone) + day * DAY, clock, zone)


def study_day(infusion_at: datetime | None, at: datetime, zone: tzinfo | None = None) -> int | None:
    """The study day of `at` (see the module docstring); None before a course is infused."""
    if infusion_at is None:
        return None
    zone = _zone(zone)
    return (local_date(at, zone) - local_date(infusion_at, zone)).days


def study_days(at: pd.Series, infusion_at: pd.Series, zone: tzinfo | None = None) -> pd.Series:
    """`study_day` of each row (UTC instants): Int64, <NA> where either instant is missing."""
    import pandas as pd

    name = zone_name(zone)

    def dates(s: pd.Series) -> pd.Series:
        # instants already aware are converted as they are: `to_datetime` would look at
        # (box) thousands of them to decide whether to cache, ~10 ms a call on any size
        if not isinstance(s.dtype, pd.DatetimeTZDtype):
            s = pd.to_datetime(s, utc=True)
        local: pd.Series = s.dt.tz_convert(name).dt.tz_localize(None).dt.normalize()
        return local

    delta = dates(at) - dates(infusion_at)
    return (delta.dt.days).astype("Int64")


def study_days_fractional(infusion_at: datetime | None, at: datetime) -> float | None:
    """Days since the infusion instant as a real number (plotting a course, kinetics)."""
    if infusion_at is None:
        return None
    return (at - infusion_at) / DAY
