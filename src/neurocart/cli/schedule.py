"""`neurocart schedule STUDY_ID`: a patient's care-pathway tasks with their state.

    neurocart schedule NC-0001 --state due,overdue
    neurocart schedule NC-0001 --now 2025-03-05T08:00Z --phase acute,subacute

The schedule is computed by neurocart.services.schedule from the stored record (the current
course's anchors, the recorded facts, the patient's attributes) as of now, or `--now`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from neurocart import pathway
from neurocart.cli import clock
from neurocart.cli.console import fail, out
from neurocart.i18n import error_text, format_datetime, site_zone, term
from neurocart.i18n import gettext as _
from neurocart.pathway import SlotState
from neurocart.pathway.render import schedule_table, summary_table
from neurocart.services.schedule import patient_schedule
from neurocart.store import get_database, repo
from neurocart.store.errors import NotFoundError


def _now(value: str | None) -> datetime:
    if value is None:
        return clock.now()
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise fail(_("--now: not an ISO 8601 time (got {value!r})").format(value=value)) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise fail(_("--now: needs a time zone, e.g. {value}Z (got {value!r})").format(value=value))
    return at.astimezone(UTC)


def _listed(option: str, value: str | None, allowed: list[str]) -> set[str] | None:
    if value is None:
        return None
    chosen = {v.strip() for v in value.split(",") if v.strip()}
    unknown = sorted(chosen - set(allowed))
    if unknown or not chosen:
        raise fail(
            _("{option}: unknown {unknown}; one of {allowed}").format(
                option=option,
                unknown=", ".join(unknown) or _("(empty)"),
                allowed=", ".join(allowed),
            )
        )
    return chosen


def show(
    study_id: Annotated[str, typer.Argument(help="The patient's pseudonymous study ID.")],
    now: Annotated[
        str | None, typer.Option(help="Compute as of this ISO time with zone (default: now).")
    ] = None,
    state: Annotated[
        str | None, typer.Option(help="Only these states, comma-separated (e.g. due,overdue).")
    ] = None,
    phase: Annotated[
        str | None, typer.Option(help="Only these phases, comma-separated (e.g. acute).")
    ] = None,
    protocol: Annotated[
        str | None, typer.Option(help="A shipped protocol instead of the course's own.")
    ] = None,
) -> None:
    """Print the patient's schedule (one row per task slot) and a summary by phase and state."""
    at = _now(now)
    states = _listed("--state", state, [s.value for s in SlotState])
    with get_database().reading() as session:
        try:
            patient = repo.find_patient(session, study_id)
        except NotFoundError:
            raise fail(
                _("no patient with study ID {study_id!r}").format(study_id=study_id)
            ) from None
        try:
            plan = patient_schedule(session, patient.id, now=at, protocol_id=protocol)
        except pathway.UnknownProtocolError as exc:
            raise fail(_("--protocol: {exc}").format(exc=error_text(exc))) from None
    phases = _listed("--phase", phase, [p.id for p in plan.protocol.phases])
    as_of = _("as of {time}").format(time=format_datetime(at))
    title = f"{study_id} — {plan.protocol.id} — {as_of}"
    out.print(
        schedule_table(
            plan,
            states=None if states is None else {SlotState(s) for s in states},
            phases=phases,
            title=title,
            tz=site_zone(),
            say=term,
        )
    )
    out.print(summary_table(plan, say=term))
