"""`neurocart simulate`: a seeded synthetic cohort written into the database like real data.

The rows go through the service layer (neurocart.simulate.load): audited, under the
deactivated `simulator` account, each patient's facts in time order. A server's monitor
reads the journal when it starts, so it sees this history as if it had arrived through the
API; ``--monitor`` runs that monitor over the new history right away (at ``--now``), so the
alerts are stored before any server starts.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from neurocart.cli.console import err, fail, out
from neurocart.cli.database import open_database
from neurocart.config import Settings
from neurocart.i18n import N_, format_datetime
from neurocart.i18n import gettext as _
from neurocart.store import Database, Patient
from neurocart.store.models import Alert

if TYPE_CHECKING:  # the simulator works on frames (pandas): loaded by the command
    from neurocart.simulate import Simulation
    from neurocart.simulate.load import LoadReport


def parse_now(text: str | None) -> datetime:
    """`--now` as an aware UTC instant (default: the wall clock); naive times are refused."""
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise fail(_("--now: not an ISO 8601 time: {text!r}").format(text=text)) from None
    if at.tzinfo is None:
        raise fail(_("--now: needs a time zone, e.g. {text}Z or {text}+00:00").format(text=text))
    return at.astimezone(UTC)


def run_monitor(settings: Settings, database: Database, now: datetime) -> int:
    """The runtime's monitor over the whole journal at `now`; the alerts it stored."""
    from neurocart.runtime import Runtime

    runtime = Runtime.build(settings, database, clock=lambda: now)
    runtime.monitor.run_until_caught_up(now=now)
    with database.reading() as session:
        return int(session.scalar(select(func.count()).select_from(Alert)) or 0)


def store_simulation(database: Database, sim: Simulation, *, quiet: bool = False) -> LoadReport:
    """Load `sim.frames` as the simulator account; refuses study IDs already stored."""
    from neurocart.simulate.load import load_cohort, simulator_account

    ids = sim.frames.patients["study_id"].tolist()
    with database.transaction() as session:
        taken = session.scalars(select(Patient.study_id).where(Patient.study_id.in_(ids))).all()
        if taken:
            raise fail(
                _(
                    "study_id: {n} simulated ID(s) already in the database ({ids} …); use an "
                    "empty database"
                ).format(n=len(taken), ids=", ".join(sorted(taken)[:3]))
            )
        actor = simulator_account(session)
    with Progress(console=err, transient=True, disable=quiet) as progress:
        task = progress.add_task(_("writing patients"), total=len(ids))
        return load_cohort(
            database,
            sim.frames,
            actor=actor,
            progress=lambda done, _total: progress.update(task, completed=done),
        )


STAGE_WORDS = {
    "screening": N_("screening"), "acute": N_("acute"), "subacute": N_("subacute"),
    "follow_up": N_("follow-up"), "completed": N_("completed"),
}  # fmt: skip
"""The simulator's stages (`neurocart.simulate.course.STAGES`) as the summary heads them."""


def summary(sim: Simulation, report: LoadReport) -> Table:
    """Patients per disease (rows) and stage at `now` (columns)."""
    diseases = [str(d) for d in sim.baseline.diagnosis]
    stages = [str(s) for s in sim.course.stage]
    counts = Counter(zip(diseases, stages, strict=True))
    stage_names = list(STAGE_WORDS)
    stage_names += sorted(set(stages) - set(stage_names))
    table = Table(
        title=_("{patients} patients (seed {seed}, now {now})").format(
            patients=report.patients, seed=sim.seed, now=format_datetime(sim.now)
        ),
        caption=_("acute: study days 0–14 (infusion = day 0)"),
    )
    table.add_column(_("disease"))
    for stage in stage_names:
        table.add_column(_(STAGE_WORDS.get(stage, stage)), justify="right")
    table.add_column(_("total"), justify="right")
    for disease in sorted(set(diseases)):
        row = [counts[(disease, s)] for s in stage_names]
        table.add_row(disease, *map(str, row), str(sum(row)))
    return table


def simulate_command(
    patients: Annotated[int, typer.Option("--patients", min=1, help="how many patients")] = 40,
    seed: Annotated[int, typer.Option("--seed", help="same seed, same cohort")] = 7,
    acute_now: Annotated[
        int | None,
        typer.Option("--acute-now", min=0, help="patients in days 0–14 at now (default ~10%)"),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="overrides NEUROCART_DATABASE_URL", show_default=False),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="the cohort's present, ISO 8601 with zone (default: now)"),
    ] = None,
    monitor: Annotated[
        bool,
        typer.Option("--monitor/--no-monitor", help="run the monitor over the history now"),
    ] = False,
) -> None:
    """Simulate a seeded cohort and store it through the service layer (audited)."""
    from neurocart.simulate import simulate

    at = parse_now(now)
    if acute_now is not None and acute_now > patients:
        raise fail(
            _("--acute-now: at most --patients ({patients}), got {acute_now}").format(
                patients=patients, acute_now=acute_now
            )
        )
    settings, database = open_database(database_url, upgrade=True)
    try:
        started = time.perf_counter()
        sim = simulate(patients, seed, now=at, acute_now=acute_now)
        report = store_simulation(database, sim)
        alerts = run_monitor(settings, database, at) if monitor else None
    finally:
        database.dispose()
    out.print(summary(sim, report))
    wrote = _(
        "wrote {patients} patients, {courses} courses, {observations} observations, "
        "{assessments} assessments, {events} events in {seconds} s"
    ).format(
        patients=report.patients, courses=report.courses, observations=report.observations,
        assessments=report.assessments, events=report.events,
        seconds=f"{time.perf_counter() - started:.1f}",
    )  # fmt: skip
    if alerts is not None:
        wrote += _("; the monitor stored {n} alert(s)").format(n=alerts)
    out.print(wrote, highlight=False)
