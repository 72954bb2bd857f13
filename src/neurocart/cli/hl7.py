"""`neurocart hl7`: the HL7 v2 feeds — an MLLP listener, a file import, the review lists.

    neurocart hl7 listen --port 2575 --as lis-feed --codes lis.toml --crosswalk xwalk.csv
    neurocart hl7 import results.hl7 --as lis-feed
    neurocart hl7 messages --status refused        # kept for review, with the reason
    neurocart hl7 unmapped                         # local codes refused for want of a mapping

Results are stored as the user given with ``--as`` (a data-manager account for the
interface engine), through the same services and monitoring as the REST API.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from neurocart.cli.console import err, fail, out
from neurocart.i18n import error_text
from neurocart.i18n import gettext as _
from neurocart.interop.codemap import CodeMap, CodeMapError
from neurocart.interop.hl7.receiver import CrosswalkError, Receiver, load_crosswalk
from neurocart.interop.hl7.review import unmapped_codes
from neurocart.security import Action, Resource, is_allowed
from neurocart.store import get_database, repo
from neurocart.store.interop import list_messages

app = typer.Typer(help="HL7 v2 lab and admission feeds (MLLP).", no_args_is_help=True)

As = Annotated[str, typer.Option("--as", help="the feed's user account (role data_manager)")]
Codes = Annotated[Path | None, typer.Option(help="the site's local-code map (TOML)")]
Crosswalk = Annotated[
    Path | None, typer.Option(help="CSV authority,mrn,study_id (kept in memory only)")
]
UnknownPatient = Annotated[
    str, typer.Option(help="a patient not in the crosswalk: discard (AA + W) or error (AE)")
]


def _receiver(
    username: str,
    codes: Path | None,
    crosswalk: Path | None,
    unknown_patient: str,
) -> Receiver:
    if unknown_patient not in ("discard", "error"):
        raise fail(
            _("--unknown-patient: discard or error, got {unknown_patient!r}").format(
                unknown_patient=unknown_patient
            )
        )
    database = get_database()
    try:
        with database.reading() as session:
            user = repo.get_user_by_username(session, username)
    except SQLAlchemyError as exc:
        raise fail(
            _("database: cannot read users ({error}); run neurocart db upgrade").format(
                error=type(exc).__name__
            )
        ) from None
    if user is None or not user.active:
        raise fail(_("--as: no active user {username!r}").format(username=username))
    if not is_allowed(user.role.value, Resource.FEEDS, Action.WRITE):
        raise fail(
            _("--as: role {role!r} may not write feeds (use a data_manager)").format(
                role=user.role.value
            )
        )
    try:
        codemap = CodeMap.load(codes) if codes else CodeMap()
        walk = load_crosswalk(crosswalk) if crosswalk else {}
    except (CodeMapError, CrosswalkError) as exc:
        raise fail(error_text(exc)) from None
    return Receiver(
        database,
        user,
        codemap=codemap,
        crosswalk=walk,
        unknown_patient=unknown_patient,
    )


@app.command()
def listen(
    user: As,
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free)")] = 2575,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    codes: Codes = None,
    crosswalk: Crosswalk = None,
    unknown_patient: UnknownPatient = "discard",
    charset: Annotated[str, typer.Option(help="message encoding, e.g. gb18030")] = "utf-8",
) -> None:
    """Receive messages over MLLP until stopped; each ACK is sent after its commit."""
    from neurocart.interop.hl7.listener import serve  # the MLLP server: only this command's

    receiver = _receiver(user, codes, crosswalk, unknown_patient)

    def ready(bound: int) -> None:
        out.print(
            _("listening for HL7 v2 (MLLP) on {host}:{bound}").format(host=host, bound=bound),
            highlight=False,
        )

    try:
        asyncio.run(serve(receiver, host=host, port=port, charset=charset, ready=ready))
    except KeyboardInterrupt:
        err.print(_("stopped"))
    except OSError as exc:
        raise fail(
            _("--port: cannot listen on {host}:{port}: {exc}").format(host=host, port=port, exc=exc)
        ) from None


def split_messages(data: bytes, charset: str = "utf-8") -> list[str]:
    """The messages of a file: MLLP blocks, or MSH-led groups of lines."""
    from neurocart.interop.hl7.listener import decode

    if b"\x0b" in data:
        blocks = [b.strip(b"\r\n\x1c") for b in data.split(b"\x0b")]
        return [decode(b, charset) for b in blocks if b.strip()]
    text = decode(data, charset).replace("\r\n", "\r").replace("\n", "\r")
    messages: list[list[str]] = []
    for line in text.split("\r"):
        if not line.strip():
            continue
        if line.startswith("MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return ["\r".join(m) for m in messages]


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help="messages: MLLP-framed or one MSH per message")],
    user: As,
    codes: Codes = None,
    crosswalk: Crosswalk = None,
    unknown_patient: UnknownPatient = "discard",
    charset: Annotated[str, typer.Option(help="file encoding")] = "utf-8",
) -> None:
    """Handle every message of a file as if it arrived over MLLP; exit 1 if any was refused."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(_("PATH: {exc}").format(exc=exc)) from None
    receiver = _receiver(user, codes, crosswalk, unknown_patient)
    counts: Counter[str] = Counter()
    for text in split_messages(data, charset):
        ack = receiver.handle(text)
        msa = next((s for s in ack.split("\r") if s.startswith("MSA|")), "MSA||")
        fields = msa.split("|")
        code, control = fields[1], fields[2] if len(fields) > 2 else ""
        counts[code] += 1
        errors = [s.split("|")[-1] for s in ack.split("\r") if s.startswith("ERR|")]
        suffix = f" — {'; '.join(errors)}" if errors else ""
        out.print(f"{control or '?'}: {code}{suffix}", highlight=False)
    out.print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or _("no messages"))
    if any(code not in ("AA", "CA") for code in counts):
        raise typer.Exit(1)


@app.command()
def messages(
    status: Annotated[
        str | None, typer.Option(help="accepted, refused (AE) or rejected (AR)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Received messages, newest first, with the ACK code and the reason."""
    with get_database().reading() as session:
        rows = list_messages(session, status=status, limit=limit)
    table = Table(
        _("received"), _("sender"), _("MSH-10"), _("type"), _("status"), _("ACK"), _("reason")
    )
    for row in rows:
        table.add_row(
            row.received_at.isoformat(timespec="seconds"),
            row.system,
            row.control_id,
            row.message_type,
            row.status,
            row.ack_code,
            (row.reason or "")[:120],
        )
    out.print(table)


@app.command()
def unmapped() -> None:
    """Local codes that arrived without a mapping (never guessed): add them to the code map."""
    with get_database().reading() as session:
        rows = unmapped_codes(session)
    table = Table(_("sender"), _("code"), _("coding system"), _("messages"))
    for row in rows:
        table.add_row(row.sender, row.code, row.coding_system, str(row.messages))
    out.print(table)
