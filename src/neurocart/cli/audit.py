"""`neurocart audit verify`: check the audit hash chain and every audited row."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from neurocart.cli.console import err, fail, out
from neurocart.store import audit, get_database

TAMPERED = 1
"""Exit code when the chain or a row does not verify (2 stays "bad input")."""
SHOWN = 20

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command()
def verify() -> None:
    """Walk the hash chain and check each audited row; exit 1 naming the first break."""
    db = get_database()
    try:
        with db.reading() as session:
            result = audit.verify(session)
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        raise fail(f"cannot read the audit log (run `neurocart db upgrade`?): {reason}") from None
    if result.ok:
        out.print(f"chain intact ({result.entries} entries)")
        out.print(f"head hash {result.head_hash} (keep it elsewhere to anchor the chain)")
        return
    for problem in result.problems[1:SHOWN]:
        err.print(f"  also: {problem}", highlight=False)
    if len(result.problems) > SHOWN:
        err.print(f"  ... and {len(result.problems) - SHOWN} more", highlight=False)
    raise fail(f"audit chain broken at {result.first}", code=TAMPERED)
