"""`neurocart audit`: verify the keyed chain against its checkpoints, checkpoint the head,
make a new audit key, and query the read log (docs/audit.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from neurocart.cli.console import err, fail, out
from neurocart.config import get_settings
from neurocart.i18n import error_text, message_text
from neurocart.i18n import gettext as _
from neurocart.store import audit, get_database
from neurocart.store.audit_keys import AuditKeyError, Keyring, append_key, current_keyring
from neurocart.store.checkpoints import checkpoint_file, write_checkpoint

TAMPERED = 1
"""Exit code when the chain or a row does not verify (2 stays "bad input")."""
SHOWN = 20

app = typer.Typer(help="The tamper-evident audit log and the read log.", no_args_is_help=True)

Checkpoints = Annotated[
    Path | None,
    typer.Option(
        "--checkpoints",
        help="checkpoint file (default: this database's file in NEUROCART_AUDIT_CHECKPOINT_DIR)",
        show_default=False,
    ),
]


def _checkpoint_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    settings = get_settings()
    if settings.audit_checkpoint_dir is None:
        return None
    return checkpoint_file(settings.audit_checkpoint_dir, settings.database_url)


def _keyring() -> Keyring:
    try:
        return current_keyring()
    except AuditKeyError as exc:
        raise fail(error_text(exc)) from None


@app.command()
def verify(checkpoints: Checkpoints = None) -> None:
    """Walk the keyed chain, check each audited row, compare with every checkpoint; exit 1
    naming the first break."""
    keyring = _keyring()
    path = _checkpoint_path(checkpoints)
    db = get_database()
    try:
        with db.reading() as session:
            result = audit.verify(session, keyring=keyring, checkpoint_path=path)
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        raise fail(
            _("cannot read the audit log (run `neurocart db upgrade`?): {reason}").format(
                reason=reason
            )
        ) from None
    if result.ok:
        out.print(
            _("chain intact ({entries} entries), head hash {head_hash}").format(
                entries=result.entries, head_hash=result.head_hash
            )
        )
        if path is None:
            err.print(
                _(
                    "[yellow]warning:[/] no checkpoint file (set "
                    "NEUROCART_AUDIT_CHECKPOINT_DIR): a truncated or rewritten chain cannot be "
                    "ruled out"
                ),
                highlight=False,
            )
        elif result.checkpoint is None:
            err.print(
                _(
                    "[yellow]warning:[/] no checkpoint in {path} yet (`neurocart audit "
                    "checkpoint`): a truncated or rewritten chain cannot be ruled out"
                ).format(path=path),
                highlight=False,
            )
        else:
            out.print(
                _("matches the checkpoints in {path} (newest at seq {checkpoint})").format(
                    path=path, checkpoint=result.checkpoint
                )
            )
        return
    for problem in result.problems[1:SHOWN]:
        err.print(_("  also: {problem}").format(problem=_finding(problem)), highlight=False)
    if len(result.problems) > SHOWN:
        err.print(_("  ... and {n} more").format(n=len(result.problems) - SHOWN), highlight=False)
    first = _finding(result.first)
    raise fail(_("audit chain broken at {first}").format(first=first), code=TAMPERED)


FINDINGS = ("neurocart.store.audit", "neurocart.store.checkpoints")
"""The modules whose `MESSAGES` key the findings of `verify`."""


def _finding(problem: audit.Break | None) -> str:
    """A finding of `verify` in the reader's language (its English is `str(problem)`)."""
    return message_text(str(problem), *FINDINGS)


@app.command()
def checkpoint(checkpoints: Checkpoints = None) -> None:
    """Append the signed chain head to the checkpoint file (the monitor leader also does,
    every NEUROCART_AUDIT_CHECKPOINT_SECONDS)."""
    keyring = _keyring()
    path = _checkpoint_path(checkpoints)
    if path is None:
        raise fail(_("--checkpoints: no file given and NEUROCART_AUDIT_CHECKPOINT_DIR is not set"))
    db = get_database()
    try:
        with db.reading() as session:
            written = write_checkpoint(session, path, keyring)
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        raise fail(
            _("cannot read the audit log (run `neurocart db upgrade`?): {reason}").format(
                reason=reason
            )
        ) from None
    except OSError as exc:
        raise fail(
            _("--checkpoints: cannot append to {path}: {error}").format(
                path=path, error=exc.strerror or exc
            )
        ) from None
    out.print(
        _("checkpoint {line} in {path}: seq {seq}, hash {hash}").format(
            line=written.line, path=path, seq=written.seq, hash=written.hash
        )
    )


@app.command("new-key")
def new_key(
    keyring: Annotated[Path, typer.Option("--keyring", help="the keyring file to append to")],
    key_id: Annotated[str, typer.Option("--id", help="the new key's id, e.g. 2027-01")],
) -> None:
    """Append a new random key to a keyring file: it signs from the next start on; the
    older keys stay to verify what they signed (rotation, docs/audit.md)."""
    try:
        append_key(keyring, key_id)
    except AuditKeyError as exc:
        raise fail(error_text(exc)) from None
    except OSError as exc:
        raise fail(
            _("--keyring: cannot write {keyring}: {error}").format(
                keyring=keyring, error=exc.strerror or exc
            )
        ) from None
    out.print(
        _("key {key_id!r} appended to {keyring}; restart every process to sign with it").format(
            key_id=key_id, keyring=keyring
        )
    )


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(
            _("{option}: expected an ISO 8601 time with offset, got {value!r}").format(
                option=option, value=value
            )
        ) from None
    if parsed.tzinfo is None:
        raise fail(
            _("{option}: give the offset (e.g. {value}+00:00)").format(option=option, value=value)
        )
    return parsed


@app.command()
def reads(
    study_id: Annotated[str | None, typer.Option("--patient", help="study ID")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="who read")] = None,
    what: Annotated[str | None, typer.Option("--what", help="chart, observations, ...")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time, at or after")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time, before")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 200,
    check: Annotated[
        bool, typer.Option("--check", help="also check every row's signature; exit 1 if edited")
    ] = False,
) -> None:
    """Who viewed or exported which record, newest first."""
    from neurocart.services import reads as read_log

    start, end = _instant(since, "--since"), _instant(until, "--until")
    db = get_database()
    try:
        with db.reading() as session:
            rows = read_log.list_reads(
                session, study_id=study_id, actor=actor, what=what, since=start, until=end,
                limit=limit,
            )  # fmt: skip
            bad = read_log.check(session, _keyring()) if check else []
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        raise fail(
            _("cannot read the read log (run `neurocart db upgrade`?): {reason}").format(
                reason=reason
            )
        ) from None
    table = Table(_("at"), _("actor"), _("role"), _("what"), _("patient"), _("scope"))
    for r in rows:
        scope = ", ".join(f"{k}={v}" for k, v in sorted(r.scope.items()))
        table.add_row(r.at.isoformat(timespec="seconds"), r.actor, r.role, r.what,
                      r.study_id or "", scope)  # fmt: skip
    out.print(table)
    if bad:
        raise fail(
            _("read log rows edited or signed with an unknown key: {bad}").format(bad=bad[:20]),
            TAMPERED,
        )
