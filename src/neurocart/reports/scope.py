"""What a report covers: where the cohort came from, which site, the cut-off, who was in it.

The CLI and the web page both load the cohort here and state its scope the same way, so a
report always says which data it was made from (the database URL with its password masked,
or "simulated") and refuses to produce an empty analysis.

    frames = load_cohort(database, site="ERL")
    scope = scope_of(frames, cutoff=date(2026, 6, 1), site="ERL", source=database_source(url))
    require_infused(scope)           # CohortScopeError: nothing to analyse, and why
    scope.text()                     # the sentence printed as the cohort definition
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import URL, make_url, select
from sqlalchemy.exc import ArgumentError

from neurocart.frames import CohortFrames, Selection
from neurocart.outcomes.patient import cutoff_instant
from neurocart.store import Database, Patient
from neurocart.store.export import export_frames


class CohortScopeError(ValueError):
    """There is no cohort to report on (empty record, unknown site, nobody infused yet)."""


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by *** (safe to print in a report or a log)."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def database_source(url: str | URL) -> str:
    """The report's "data source" line for a database, with the password masked."""
    return f"neurocart database {mask_url(url)} (current facts; superseded and retracted excluded)"


def simulated_source(n_patients: int, seed: int) -> str:
    """The report's "data source" line for a simulated cohort, so a reader never takes it for
    patients."""
    return f"simulated (neurocart simulator, {n_patients} patients, seed {seed})"


@dataclass(frozen=True)
class CohortScope:
    """The cohort a report analyses: source, site, cut-off and the counts at the cut-off."""

    source: str
    cutoff: date
    site: str | None
    registered: int
    enrolled: int
    infused: int
    first_infusion: date | None
    """Earliest recorded infusion, whether or not before the cut-off."""
    synthetic: bool = False
    """True when any of the data was made by the simulator: every page of the report says so."""

    def text(self) -> str:
        """One sentence: who is included, as of when, from what data."""
        where = f"site {self.site}" if self.site else "all sites"
        return (
            f"Patients of {where} infused with CAR-T cells on or before the data cut-off "
            f"{self.cutoff.isoformat()}: {self.infused} infused of {self.enrolled} enrolled "
            f"({self.registered} registered). Data source: {self.source}."
        )


def _per_patient_first(courses: pd.DataFrame, column: str) -> pd.Series:
    return courses.dropna(subset=[column]).groupby("study_id")[column].min()


def scope_of(
    frames: CohortFrames, *, cutoff: date, site: str | None, source: str, synthetic: bool = False
) -> CohortScope:
    """Count registered, enrolled (by the cut-off) and infused (by the cut-off) patients."""
    end = cutoff_instant(cutoff)
    courses = frames.courses
    infusions = _per_patient_first(courses, "infusion_at")
    enrolments = _per_patient_first(courses, "enrolment_at")
    infused = set(infusions[infusions <= end].index)
    enrolled = set(enrolments[enrolments <= end].index) | infused
    first = infusions.min() if len(infusions) else None
    return CohortScope(
        source=source,
        cutoff=cutoff,
        site=site,
        registered=len(frames.patients),
        enrolled=len(enrolled),
        infused=len(infused),
        first_infusion=None if first is None or pd.isna(first) else first.date(),
        synthetic=synthetic,
    )


def is_synthetic(database: Database) -> bool:
    """Whether the record holds simulated data: an observation from the simulator, or any
    clinical fact entered under the simulator's account (`neurocart.simulate.load`)."""
    from neurocart.simulate.load import ACCOUNT, SOURCE
    from neurocart.store.models import Assessment, ClinicalEvent, Observation, User

    with database.reading() as session:
        if session.scalar(select(Observation.id).where(Observation.source == SOURCE).limit(1)):
            return True
        account = session.scalar(select(User.id).where(User.username == ACCOUNT))
        if account is None:
            return False
        return any(
            session.scalar(select(model.id).where(model.entered_by == account).limit(1)) is not None
            for model in (Observation, Assessment, ClinicalEvent)
        )


def require_infused(scope: CohortScope) -> None:
    """Raise CohortScopeError, saying why, when no patient was infused by the cut-off."""
    where = f" at site {scope.site}" if scope.site else ""
    if scope.registered == 0:
        raise CohortScopeError(f"no patients{where} in the record ({scope.source})")
    if scope.infused:
        return
    if scope.first_infusion is None:
        raise CohortScopeError(
            f"none of the {scope.registered} patients{where} has a recorded CAR-T infusion; "
            "there is nothing to analyse"
        )
    raise CohortScopeError(
        f"cut-off {scope.cutoff.isoformat()} is before the first infusion{where} "
        f"({scope.first_infusion.isoformat()}); choose a later cut-off"
    )


def load_cohort(
    database: Database,
    *,
    site: str | None = None,
    only: Selection | None = None,
    cutoff: date | None = None,
) -> CohortFrames:
    """The record's current facts as frames; CohortScopeError when the site has no patients.

    `only` (with the analysis' `cutoff`): only the facts an analysis reads
    (`neurocart.cohort.analysis.selection`), for that cut-off (`export_frames`); None reads every
    fact, as an export needs.
    """
    end = cutoff_instant(cutoff)
    with database.reading() as session:
        frames = export_frames(
            session, site=site, only=only, until=None if end is None else end.to_pydatetime()
        )
        if site is not None and frames.patients.empty:
            sites = sorted(set(session.scalars(select(Patient.site).distinct())))
            known = ", ".join(sites) if sites else "none (the record is empty)"
            raise CohortScopeError(f"site: no patients at site {site!r}; known sites: {known}")
    return frames
