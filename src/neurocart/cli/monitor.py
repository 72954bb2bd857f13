"""`neurocart monitor replay`: a patient's stored history through a fresh engine.

Prints the alert timeline, and (``--compare``, the default) checks it equals the actions the
live engine persisted — exit code 1 naming the first difference. With ``--rules new.toml
--no-compare`` a center sees what a new rule file would have raised for its past patients.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from neurocart.cli.console import err, fail, out
from neurocart.i18n import error_text, format_datetime, gettext, joined, zone_label
from neurocart.i18n import gettext as _
from neurocart.monitor import RuleFileError, load_rules
from neurocart.services.journal import rebuild
from neurocart.store import Patient, get_database
from neurocart.store.models import AlertAction

app = typer.Typer(help="The rapid-response monitor.", no_args_is_help=True)

DIFF_FIELDS = ("alert_key", "kind", "at", "rule_id", "severity", "grade", "level", "text")


def first_difference(persisted: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> str | None:
    """Where two action logs part, in words of the current language (None when equal): the
    action's number, alert key and kind, and up to three fields with both values."""
    for i, (old, new) in enumerate(zip(persisted, replayed, strict=False)):
        if old != new:
            fields = [f for f in DIFF_FIELDS if old.get(f) != new.get(f)]
            fields += sorted(k for k in set(old) | set(new) if k not in DIFF_FIELDS and
                             old.get(k) != new.get(k))  # fmt: skip
            shown = joined(
                (
                    _("{field}: persisted {persisted}, replayed {replayed}").format(
                        field=f, persisted=repr(old.get(f)), replayed=repr(new.get(f))
                    )
                    for f in fields[:3]
                ),
                "; ",
            )
            return _("action #{n} ({alert_key} {kind}): {differences}").format(
                n=i + 1, alert_key=old.get("alert_key"), kind=old.get("kind"), differences=shown
            )
    if len(persisted) != len(replayed):
        n = min(len(persisted), len(replayed))
        only = (
            _(
                "action #{n}: only persisted has it ({alert_key} {kind} at {at}); "
                "{persisted} persisted, {replayed} replayed"
            )
            if len(persisted) > n
            else _(
                "action #{n}: only replayed has it ({alert_key} {kind} at {at}); "
                "{persisted} persisted, {replayed} replayed"
            )
        )
        extra = (persisted if len(persisted) > n else replayed)[n]
        return only.format(
            n=n + 1,
            alert_key=extra.get("alert_key"),
            kind=extra.get("kind"),
            at=extra.get("at"),
            persisted=len(persisted),
            replayed=len(replayed),
        )
    return None


@app.command()
def replay(
    study_id: Annotated[str | None, typer.Argument(help="the patient's study ID")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every patient")] = False,
    rules: Annotated[
        Path | None, typer.Option(help="a rule file (default: the shipped rules)")
    ] = None,
    compare: Annotated[
        bool, typer.Option(help="check the timeline equals the persisted alert actions")
    ] = True,
) -> None:
    """Feed the stored history through a fresh engine and print the alert timeline."""
    if (study_id is None) == (not all_):
        raise fail(_("give a STUDY_ID or --all (not both)"))
    try:
        ruleset = load_rules(rules) if rules is not None else None
    except RuleFileError as exc:
        raise fail(error_text(exc)) from None
    with get_database().reading() as session:
        wanted = None
        if study_id is not None:
            if session.scalar(select(Patient.id).where(Patient.study_id == study_id)) is None:
                raise fail(_("STUDY_ID: no patient {study_id!r}").format(study_id=study_id))
            wanted = [study_id]
        _state, actions = rebuild(session, ruleset, wanted)
        query = (
            select(AlertAction.payload)
            .where(~AlertAction.alert_key.startswith("system:"))  # the monitor's own
            .order_by(AlertAction.id)
        )
        if study_id is not None:
            query = query.where(AlertAction.alert_key.startswith(f"{study_id}:", autoescape=True))
        persisted = list(session.scalars(query)) if compare else []
    table = Table(
        title=_("alert timeline — {who} ({n} actions)").format(
            who=study_id or _("all patients"), n=len(actions)
        )
    )
    time_column = gettext("time ({zone})").format(zone=zone_label())
    columns = (gettext("day"), gettext("kind"), gettext("severity"), gettext("rule"))
    for column in (time_column, *columns, gettext("text")):
        table.add_column(column, overflow="fold")
    for a in actions:
        table.add_row(
            format_datetime(a.at, zone_shown=False),
            "" if a.study_day is None else str(a.study_day),
            a.kind,
            a.severity,
            a.rule_id,
            a.text,
        )
    out.print(table)
    if not compare:
        return
    replayed = json.loads(json.dumps([a.to_dict() for a in actions]))
    difference = first_difference(persisted, replayed)
    if difference is not None:
        err.print(
            _("[bold red]replay differs from the live timeline:[/] {difference}").format(
                difference=difference
            )
        )
        raise typer.Exit(1)
    out.print(_("replay identical to the live timeline ({n} actions)").format(n=len(persisted)))
