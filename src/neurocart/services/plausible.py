"""When a clinical fact can have happened: not before the patient was born, not in the future.

    window = fact_window(patient, now=clock(), max_future_minutes=settings.max_future_minutes)
    window.check({"onset_at": body.onset_at, "end_at": body.end_at})   # InvalidInputError

A timestamp the parser accepts may still be impossible for the record: year 9999, or a
relapse dated decades before the patient's birth year. Such a value is a typing error at the
source, and stored it would move a study day, a grade's time or an overdue task. The window
is [1 January of the birth year, now + a tolerance]; the tolerance
(`Settings.max_future_minutes`, default 10) covers clocks of bedside devices that run a
little ahead of the server's. A patient without a recorded birth year has no lower bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from neurocart.services.errors import (
    BEFORE_BIRTH_YEAR,
    IN_THE_FUTURE,
    IN_THE_FUTURE_AFTER,
    InvalidInputError,
    Problem,
)
from neurocart.store.models import Patient


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The instants a patient's fact may carry: `earliest` (None: unbounded) to `latest`."""

    earliest: datetime | None
    latest: datetime

    def problem(self, location: str, at: datetime) -> Problem | None:
        """What is wrong with `at` (tz-aware), or None when it lies in the window."""
        if at > self.latest:
            return Problem(
                location, IN_THE_FUTURE_AFTER.format(latest=self.latest.isoformat()), at.isoformat()
            )
        if self.earliest is not None and at < self.earliest:
            return Problem(
                location,
                BEFORE_BIRTH_YEAR.format(year=self.earliest.year),
                at.isoformat(),
            )
        return None

    def check(self, instants: Mapping[str, datetime | None]) -> None:
        """Raise InvalidInputError naming every instant (location → value) outside."""
        found = [
            p
            for name, at in instants.items()
            if at is not None and (p := self.problem(name, at)) is not None
        ]
        if found:
            raise InvalidInputError(found)

    def check_column(self, collection: str, field: str, times: Sequence[datetime]) -> None:
        """`check` of a batch's column: ``observations[3].effective_at`` for each row outside.

        Two comparisons for the common all-inside batch; rows are looked at only when not.
        """
        if not times:
            return
        low, high = min(times), max(times)
        if high <= self.latest and (self.earliest is None or low >= self.earliest):
            return
        self.check({f"{collection}[{i}].{field}": at for i, at in enumerate(times)})


def fact_window(patient: Patient, *, now: datetime, max_future_minutes: int) -> TimeWindow:
    """The window of `patient`'s facts as of `now` (tz-aware)."""
    earliest = None
    if patient.birth_year is not None:
        earliest = datetime(patient.birth_year, 1, 1, tzinfo=UTC)
    return TimeWindow(earliest, now.astimezone(UTC) + timedelta(minutes=max_future_minutes))


def check_birth_year(year: int | None, *, now: datetime) -> None:
    """Refuse a birth year after the current one (422 naming ``birth_year``)."""
    if year is not None and year > now.astimezone(UTC).year:
        raise InvalidInputError([Problem("birth_year", IN_THE_FUTURE, year)])
