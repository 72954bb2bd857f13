"""The `neurocart` command line: thin faces over the services, one module per command group.

Bad input exits with code 2 and a message naming the field, never a traceback.
"""

from __future__ import annotations

from typing import Annotated

import typer

from neurocart import i18n
from neurocart.cli import (
    audit,
    db,
    fhir,
    hl7,
    monitor,
    omics,
    patient,
    protocol,
    report,
    schedule,
    user,
)
from neurocart.cli import export as export_commands
from neurocart.cli import imports as import_commands
from neurocart.cli.calc import calc
from neurocart.cli.console import fail
from neurocart.cli.demo import demo
from neurocart.cli.localized import LocalizedGroup
from neurocart.cli.serve import serve
from neurocart.cli.simulate import simulate_command
from neurocart.config import get_settings

app = typer.Typer(
    name="neurocart",
    help="CAR-T therapy for neurological autoimmune disease: calculators, pathway, monitoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LocalizedGroup,
)


@app.callback()
def main(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="language of the output and the report: en or zh_CN "
            "(default: NEUROCART_DEFAULT_LOCALE)",
        ),
    ] = None,
) -> None:
    """neurocart — CAR-T for neurological autoimmune disease."""
    chosen = i18n.normalize(lang) if lang else get_settings().default_locale
    if chosen is None:
        raise fail(
            i18n.gettext("--lang: one of {locales} (got {lang!r})").format(
                locales=", ".join(i18n.LOCALES), lang=lang
            )
        )
    i18n.activate(chosen)


app.command(add_help_option=False)(calc)
# Command groups of later layers are added here, one line each:
# app.add_typer(db.app, name="db")
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(user.app, name="user")
app.add_typer(patient.app, name="patient")
app.add_typer(protocol.app, name="protocol")
app.add_typer(monitor.app, name="monitor")
app.add_typer(hl7.app, name="hl7")
app.add_typer(fhir.app, name="fhir")
app.add_typer(export_commands.app, name="export")
app.add_typer(import_commands.app, name="import")
app.add_typer(omics.app, name="omics")
app.command()(serve)
app.command("schedule")(schedule.show)
app.command(name="report")(report.report)
app.command(name="simulate")(simulate_command)
app.command(name="demo")(demo)


if __name__ == "__main__":  # pragma: no cover
    app()
