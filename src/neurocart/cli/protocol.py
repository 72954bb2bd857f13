"""`neurocart protocol`: list and show the shipped care pathways; check a center's own file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neurocart import pathway
from neurocart.cli.console import fail, out
from neurocart.i18n import error_text
from neurocart.i18n import gettext as _
from neurocart.pathway.render import protocol_tables

app = typer.Typer(
    help="Care-pathway protocols: list, show, check.", no_args_is_help=True, add_completion=False
)


@app.command()
def show(
    protocol_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="A shipped protocol; omit to list them.")
    ] = None,
) -> None:
    """List the shipped protocols, or print one protocol's phases and tasks."""
    if protocol_id is None:
        table = Table(title=_("shipped protocols"))
        for column in (_("id"), _("version"), _("title"), _("phases"), _("tasks")):
            table.add_column(column)
        for pid in pathway.shipped_protocol_ids():
            p = pathway.load_shipped(pid)
            table.add_row(
                pid, p.protocol.version, _(p.title), str(len(p.phases)), str(len(p.tasks))
            )
        out.print(table)
        return
    try:
        protocol = pathway.load_shipped(protocol_id)
    except pathway.UnknownProtocolError as exc:
        raise fail(error_text(exc)) from None
    phases, tasks = protocol_tables(protocol)
    out.print(phases)
    out.print(tasks)
    for source in protocol.protocol.sources:
        out.print(_("source: {source}").format(source=source), highlight=False)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="A protocol TOML file.")],
) -> None:
    """Validate a protocol file; exit 2 naming every faulty TOML key path."""
    try:
        protocol = pathway.load_protocol(file)
    except pathway.ProtocolError as exc:
        raise fail(error_text(exc)) from None
    slots = sum(len(t.offsets) for t in protocol.tasks)
    out.print(
        _("ok: {id} {version} — {phases} phases, {tasks} tasks, {slots} slots per patient").format(
            id=protocol.id,
            version=protocol.protocol.version,
            phases=len(protocol.phases),
            tasks=len(protocol.tasks),
            slots=slots,
        ),
        highlight=False,
    )
