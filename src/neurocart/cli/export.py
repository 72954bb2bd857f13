"""`neurocart export sdtm|redcap`: research exports of the record's current facts.

Both read the record through the store's frames export (current rows only) and identify
patients by their pseudonymous study ID alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from neurocart.cli.console import fail, out
from neurocart.i18n import error_text
from neurocart.i18n import gettext as _

if TYPE_CHECKING:  # pandas: loaded by the command, not by the command line's start-up
    from neurocart.frames import CohortFrames

app = typer.Typer(help="Research exports: CDISC SDTM, REDCap.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="overrides NEUROCART_DATABASE_URL", show_default=False),
]
Site = Annotated[str | None, typer.Option("--site", help="only the patients of this site")]
Timezone = Annotated[
    str, typer.Option("--timezone", help="the site's IANA time zone (dates are site-local)")
]


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(_("--timezone: unknown IANA time zone {name!r}").format(name=name)) from None
    return name


def _frames(database_url: str | None, site: str | None, what: str) -> CohortFrames:
    """The record's current facts (the same read, and the same errors, as `neurocart report`)."""
    from neurocart.cli.report import _from_database
    from neurocart.reports.scope import CohortScopeError

    try:
        frames, _db, _url = _from_database(database_url, site, what)
    except CohortScopeError as exc:
        raise fail(error_text(exc)) from None
    return frames


@app.command("sdtm")
def sdtm(
    out_dir: Annotated[Path, typer.Option("--out", help="directory for the .xpt files")],
    studyid: Annotated[str, typer.Option("--study-id", help="STUDYID")] = "NADCART",
    country: Annotated[str, typer.Option("--country", help="COUNTRY (ISO 3166-1 alpha-3)")] = "CHN",
    timezone: Timezone = "UTC",
    meddra: Annotated[
        Path | None,
        typer.Option(
            "--meddra",
            help="the site's MedDRA coding of AE terms (TOML [terms]); the export fails for "
            "a term it does not code",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    site: Site = None,
) -> None:
    """Write SDTM datasets (SAS transport v5) and define.xml into --out."""
    from neurocart.interop.sdtm import SdtmConfig, SdtmError, XptLimitError, load_meddra, write_sdtm

    if not studyid.isascii() or not studyid or len(studyid) > 40:
        raise fail(
            _("--study-id: expected 1–40 ASCII characters, got {studyid!r}").format(studyid=studyid)
        )
    if len(country) != 3 or not country.isalpha():
        raise fail(
            _("--country: expected an ISO 3166-1 alpha-3 code, got {country!r}").format(
                country=country
            )
        )
    try:
        terms = {} if meddra is None else load_meddra(meddra)
    except SdtmError as exc:
        raise fail(error_text(exc)) from None
    config = SdtmConfig(studyid, country.upper(), _zone(timezone), meddra=terms)
    frames = _frames(database_url, site, "export:sdtm")
    try:
        files = write_sdtm(frames, out_dir, config)
    except (SdtmError, XptLimitError) as exc:
        raise fail(error_text(exc)) from None
    except OSError as exc:
        raise fail(
            _("--out: cannot write into {out_dir}: {error}").format(
                out_dir=out_dir, error=exc.strerror or exc
            )
        ) from None
    rows = ", ".join(f"{n} {len(f)}" for n, f in files.data.datasets.items())
    out.print(
        _("wrote {n} datasets and {define}: {rows}").format(
            n=len(files.files), define=files.define, rows=rows
        ),
        highlight=False,
    )
    if files.data.omitted:
        left = ", ".join(f"{k} ({n})" for k, n in sorted(files.data.omitted.items()))
        out.print(_("not in SDTM (no domain for them): {left}").format(left=left), highlight=False)


@app.command("redcap")
def redcap(
    out_dir: Annotated[Path, typer.Option("--out", help="directory for the REDCap files")],
    project: Annotated[str, typer.Option("--project", help="REDCap project name")] = "neurocart",
    timezone: Timezone = "UTC",
    database_url: DatabaseUrl = None,
    site: Site = None,
) -> None:
    """Write a REDCap project (dictionary, events, mappings) and its records into --out."""
    from neurocart.interop.redcap import RedcapError, write_project

    frames = _frames(database_url, site, "export:redcap")
    try:
        files = write_project(frames, out_dir, project=project, timezone=_zone(timezone))
    except RedcapError as exc:
        raise fail(error_text(exc)) from None
    except OSError as exc:
        raise fail(
            _("--out: cannot write into {out_dir}: {error}").format(
                out_dir=out_dir, error=exc.strerror or exc
            )
        ) from None
    out.print(
        _("wrote {files} into {out_dir}: {records} record rows for {patients} patients").format(
            files=", ".join(p.name for p in files.paths),
            out_dir=out_dir,
            records=files.records,
            patients=files.patients,
        ),
        highlight=False,
    )
