"""`neurocart fhir export`: the cohort as FHIR R4 NDJSON, one file per resource type.

    neurocart fhir export --out fhir-export/ [--patient NC-0001 ...]

Pseudonymous: patients are their study IDs; no name, hospital number or address is held.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from neurocart.cli.console import fail, out
from neurocart.i18n import error_text
from neurocart.i18n import gettext as _
from neurocart.interop.fhir.outbound import export_ndjson
from neurocart.store import get_database

app = typer.Typer(help="FHIR R4 export (bulk NDJSON).", no_args_is_help=True)


@app.command()
def export(
    out_dir: Annotated[Path, typer.Option("--out", help="directory for <Type>.ndjson files")],
    patient: Annotated[
        list[str] | None, typer.Option(help="a study ID (repeatable; default: everyone)")
    ] = None,
) -> None:
    """Write Patient.ndjson, Observation.ndjson ... (one resource per line); the export is
    recorded in the read log."""
    from neurocart.services.reads import log_read, patient_scope
    from neurocart.store.audit_keys import AuditKeyError

    database = get_database()
    try:  # logged first: no export leaves without its record
        log_read(database, None, "export:fhir", scope=patient_scope(patient),
                 actor=f"cli:{getpass.getuser()}")  # fmt: skip
    except AuditKeyError as exc:
        raise fail(_("cannot log this export: {exc}").format(exc=error_text(exc))) from None
    with database.reading() as session:
        counts = export_ndjson(session, out_dir, study_ids=patient or None)
    table = Table(_("resource type"), _("resources"), _("file"))
    for kind, n in sorted(counts.items()):
        table.add_row(kind, str(n), str(out_dir / f"{kind}.ndjson"))
    out.print(table)
