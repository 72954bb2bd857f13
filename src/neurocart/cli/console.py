"""Consoles and the one way a command reports bad input (exit code 2, no traceback)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from neurocart.i18n import gettext as _

BAD_INPUT = 2
"""Exit code for input the command cannot use (a usage error, like click's own)."""

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = BAD_INPUT) -> typer.Exit:
    """Print `message` on stderr (as plain text: "[[phases]]" in it is not markup) and return
    the Exit to raise."""
    label = _("error:")  # outside the f-string, where the catalogue's extractor finds it
    err.print(f"[bold red]{escape(label)}[/] {escape(message)}", highlight=False)
    return typer.Exit(code)
