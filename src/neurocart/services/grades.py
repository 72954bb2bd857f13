"""Each patient's current CRS and ICANS grade: the one the monitor holds, with its source.

The monitor leader writes them (``monitor_status``) whenever a grade or its source changes,
so the board, the chart and the alert show the same grade. The rule that combines a
clinician's recorded grade with the grade derived from vitals and events is the engine's:
the higher of the two while the recorded grade is recent (`neurocart.monitor.state`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neurocart.store import repo
from neurocart.store.models import MonitorStatus


@dataclass(frozen=True, slots=True)
class CurrentGrade:
    """A grade, where it came from (``derived`` or ``recorded``), since when and by whom."""

    grade: int
    source: str
    at: datetime | None
    by: str | None = None

    @property
    def provenance(self) -> str:
        """In words: "derived from vitals at …" or "recorded by doc at …" (ISO time)."""
        when = f" at {self.at.isoformat(timespec='minutes')}" if self.at else ""
        if self.source == "recorded":
            return f"recorded by {self.by or 'a clinician'}{when}"
        return f"derived from vitals and events{when}"


@dataclass(frozen=True, slots=True)
class Grades:
    """A patient's current CRS and ICANS grades (None where the monitor has none)."""

    crs: CurrentGrade | None
    icans: CurrentGrade | None


NO_GRADES = Grades(None, None)


def current_grades(session: Session, patient_ids: Iterable[int]) -> dict[int, Grades]:
    """Patient id → current grades (patients the monitor never graded are absent)."""
    out: dict[int, Grades] = {}
    for chunk in repo.id_chunks(patient_ids):
        for row in session.scalars(
            select(MonitorStatus).where(MonitorStatus.patient_id.in_(chunk))
        ):
            crs = (
                None
                if row.crs_grade is None
                else CurrentGrade(
                    row.crs_grade, row.crs_source or "derived", row.crs_at, row.crs_by
                )
            )
            icans = (
                None
                if row.icans_grade is None
                else CurrentGrade(
                    row.icans_grade, row.icans_source or "derived", row.icans_at, row.icans_by
                )
            )
            out[row.patient_id] = Grades(crs, icans)
    return out
