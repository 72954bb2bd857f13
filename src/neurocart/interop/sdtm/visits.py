"""The care pathway's visits, as SDTM VISIT / VISITNUM / VISITDY and REDCap events.

A CAR-T course is seen at screening, apheresis, lymphodepletion, the infusion (CAR-T day 0)
and on CAR-T days 7, 14 and 28, then at months 3, 6, 12 and 24 (a month is 30.4375 days, as in
the care pathway). A record is placed in the visit whose window it falls in: before the
infusion by the course's anchor dates, after it the last visit whose nominal day has been
reached. Pure functions; the dates are site-local calendar dates.

    >>> from datetime import date
    >>> visit_of(date(2025, 3, 20), apheresis=None, ld_start=None, infusion=date(2025, 3, 1)).name
    'DAY 14'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from neurocart.interop.sdtm.days import sdtm_day_of_cart_day
from neurocart.pathway.protocol import month_to_days


@dataclass(frozen=True, slots=True)
class Visit:
    """One planned visit; `cart_day` is None for the visits placed by anchor dates."""

    num: int
    name: str
    event: str
    """The REDCap unique event name (arm 1)."""
    label: str
    cart_day: int | None

    @property
    def visitdy(self) -> int | None:
        """The planned SDTM study day (VISITDY)."""
        return None if self.cart_day is None else sdtm_day_of_cart_day(self.cart_day)


def _after(num: int, name: str, event: str, label: str, day: int) -> Visit:
    return Visit(num, name, f"{event}_arm_1", label, day)


VISITS: tuple[Visit, ...] = (
    Visit(1, "SCREENING", "screening_arm_1", "Screening", None),
    Visit(2, "APHERESIS", "apheresis_arm_1", "Apheresis", None),
    Visit(3, "LYMPHODEPLETION", "lymphodepletion_arm_1", "Lymphodepletion", None),
    _after(4, "DAY 0", "day_0", "Day 0 (infusion)", 0),
    _after(5, "DAY 7", "day_7", "Day 7", 7),
    _after(6, "DAY 14", "day_14", "Day 14", 14),
    _after(7, "DAY 28", "day_28", "Day 28", 28),
    _after(8, "MONTH 3", "month_3", "Month 3", month_to_days(3)),
    _after(9, "MONTH 6", "month_6", "Month 6", month_to_days(6)),
    _after(10, "MONTH 12", "month_12", "Month 12", month_to_days(12)),
    _after(11, "MONTH 24", "month_24", "Month 24", month_to_days(24)),
)
BY_EVENT = {v.event: v for v in VISITS}


def visit_of(
    day: date, *, apheresis: date | None, ld_start: date | None, infusion: date | None
) -> Visit:
    """The visit whose window holds the site-local date `day` (see the module docstring)."""
    if infusion is not None and day >= infusion:
        k = (day - infusion).days
        reached = [v for v in VISITS if v.cart_day is not None and v.cart_day <= k]
        return reached[-1]
    if ld_start is not None and day >= ld_start:
        return VISITS[2]
    if apheresis is not None and day >= apheresis:
        return VISITS[1]
    return VISITS[0]
