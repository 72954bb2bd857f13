"""`neurocart user add`: create a user (the first admin, typically)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from neurocart.cli.console import fail, out
from neurocart.security import hash_password
from neurocart.store import ConflictError, InvalidRecordError, Role, get_database, repo

app = typer.Typer(help="Users and their roles.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="username")],
    role: Annotated[Role, typer.Option("--role", help="what the user may do")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Create user NAME with ROLE; the password is prompted for (or read from stdin)."""
    password = _read_password(password_stdin)
    if not password:
        raise fail("password: must not be empty")
    db = get_database()
    try:
        with db.transaction() as session:
            user = repo.create_user(
                session, None, username=name, password_hash=hash_password(password), role=role
            )
    except (ConflictError, InvalidRecordError) as exc:
        raise fail(str(exc)) from None
    out.print(f"user {user.username!r} created with role {user.role.value}", highlight=False)
