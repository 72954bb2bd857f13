"""`neurocart user add`: create a user (the first admin, typically); `neurocart user revoke`:
end every session of a user (their tokens and cookies are refused from then on); `neurocart
user unlock`: lift a user's login lockout before its window passes (audited)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from neurocart.cli.console import fail, out
from neurocart.config import get_settings
from neurocart.i18n import error_text
from neurocart.i18n import gettext as _
from neurocart.services import accounts
from neurocart.services.errors import InvalidInputError
from neurocart.store import ConflictError, InvalidRecordError, Role, get_database, repo

app = typer.Typer(help="Users and their roles.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    return password


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="username")],
    role: Annotated[Role, typer.Option("--role", help="what the user may do")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Create user NAME with ROLE; the password is prompted for (or read from stdin) and must
    have NEUROCART_PASSWORD_MIN_LENGTH characters (default 12)."""
    password = _read_password(password_stdin)
    settings = get_settings()
    db = get_database()
    try:
        with db.transaction() as session:
            user = accounts.create_account(
                session, None, settings, username=name, password=password, role=role
            )
    except (InvalidInputError, ConflictError, InvalidRecordError) as exc:
        raise fail(error_text(exc)) from None
    out.print(
        _("user {username!r} created with role {role}").format(
            username=user.username, role=user.role.value
        ),
        highlight=False,
    )


@app.command()
def revoke(name: Annotated[str, typer.Argument(help="username")]) -> None:
    """End every session of user NAME at once (any server process); the account stays active
    and the user can log in again (deactivate the account to keep them out)."""
    db = get_database()
    with db.transaction() as session:
        user = repo.get_user_by_username(session, name)
        if user is None:
            raise fail(_("name: no user {name!r}").format(name=name))
        ended = accounts.end_user_sessions(session, None, user, reason="revoked")
    out.print(
        _("user {name!r}: {ended} session(s) ended").format(name=name, ended=ended), highlight=False
    )


@app.command()
def unlock(name: Annotated[str, typer.Argument(help="username")]) -> None:
    """Lift the login lockout of user NAME now (after too many failed logins): the failures
    stop counting and the unlock is audited under your operating-system user; the failures
    stay in the audit log. A lockout of a client address is not lifted."""
    db = get_database()
    with db.transaction() as session:
        user = repo.get_user_by_username(session, name)
        if user is None:
            raise fail(_("name: no user {name!r}").format(name=name))
        done = accounts.unlock(
            session, None, user, get_settings(), actor_name=f"cli:{getpass.getuser()}"
        )
    state = _("was locked out") if done.was_locked else _("was not locked out")
    out.print(
        _("user {name!r} {state}; {cleared} failed login(s) cleared").format(
            name=name, state=state, cleared=done.cleared
        ),
        highlight=False,
    )
