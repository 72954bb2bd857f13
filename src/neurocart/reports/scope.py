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
from neurocart.studyday import local_date

NO_PATIENTS = "no patients in the record ({source})"
NO_PATIENTS_AT = "no patients at site {site} in the record ({source})"
NONE_INFUSED = "none of the {n} patients has a recorded CAR-T infusion; there is nothing to analyse"
NONE_INFUSED_AT = (
    "none of the {n} patients at site {site} has a recorded CAR-T infusion; there is nothing "
    "to analyse"
)
TOO_EARLY = "cut-off {cutoff} is before the first infusion ({first}); choose a later cut-off"
TOO_EARLY_AT = (
    "cut-off {cutoff} is before the first infusion at site {site} ({first}); choose a later cut-off"
)
UNKNOWN_SITE = "site: no patients at site {site}; known sites: {known}"
NO_SITES = "none (the record is empty)"
DATABASE_SOURCE = "neurocart database {url} (current facts; superseded and retracted excluded)"
SIMULATED_SOURCE = "simulated (neurocart simulator, {n} patients, seed {seed})"
DEFINITION = (
    "Patients of all sites infused with CAR-T cells on or before the data cut-off {cutoff}: "
    "{infused} infused of {enrolled} enrolled ({registered} registered). Data source: {source}."
)
DEFINITION_AT = (
    "Patients of site {site} infused with CAR-T cells on or before the data cut-off {cutoff}: "
    "{infused} infused of {enrolled} enrolled ({registered} registered). Data source: {source}."
)
MESSAGES = (
    NO_PATIENTS, NO_PATIENTS_AT, NONE_INFUSED, NONE_INFUSED_AT, TOO_EARLY, TOO_EARLY_AT,
    UNKNOWN_SITE, NO_SITES, DATABASE_SOURCE, SIMULATED_SOURCE, DEFINITION, DEFINITION_AT,
)  # fmt: skip
"""Why there is no cohort, the data-source lines and the cohort's definition, as message keys
with named fields (like `neurocart.store.errors.MESSAGES`): the command line, the page and
the report say them in their reader's language (`neurocart.i18n.error_text`,
`neurocart.i18n.message_text`)."""


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
    return DATABASE_SOURCE.format(url=mask_url(url))


def simulated_source(n_patients: int, seed: int) -> str:
    """The report's "data source" line for a simulated cohort, so a reader never takes it for
    patients."""
    return SIMULATED_SOURCE.format(n=n_patients, seed=seed)


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
        at = {"site": self.site} if self.site else {}
        return (DEFINITION_AT if at else DEFINITION).format(
            cutoff=self.cutoff.isoformat(), infused=self.infused, enrolled=self.enrolled,
            registered=self.registered, source=self.source, **at,
        )  # fmt: skip


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
        first_infusion=None if first is None or pd.isna(first) else local_date(first),
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
    at = {"site": scope.site} if scope.site else {}
    if scope.registered == 0:
        key = NO_PATIENTS_AT if at else NO_PATIENTS
        raise CohortScopeError(key.format(source=scope.source, **at))
    if scope.infused:
        return
    if scope.first_infusion is None:
        key = NONE_INFUSED_AT if at else NONE_INFUSED
        raise CohortScopeError(key.format(n=scope.registered, **at))
    key = TOO_EARLY_AT if at else TOO_EARLY
    raise CohortScopeError(
        key.format(cutoff=scope.cutoff.isoformat(), first=scope.first_infusion.isoformat(), **at)
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
            known = ", ".join(sites) if sites else NO_SITES
            raise CohortScopeError(UNKNOWN_SITE.format(site=repr(site), known=known))
    return frames
