"""The command line in the user's language: help texts translated before click shows them.

Typer builds the click command tree from the decorators at every start, in English (the
docstrings and `help=` texts are the source texts of the catalogues, extracted by
`neurocart.catalogue` from this very tree). `LocalizedGroup` is the root group: before it
parses the command line it reads `--lang` (else the site default), makes that the language of
the run and translates the help of every command and option, so `neurocart --lang zh_CN
calc --help` is Chinese from the first line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from typer.core import TyperGroup

from neurocart import i18n
from neurocart.i18n import N_

_ENGLISH = "_neurocart_english_help"
HELP_OPTION = N_("Show this message and exit.")
"""click's own help of --help, translated with the rest."""


TYPER_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "DEPRECATED_STRING": N_("(deprecated) "),
}
"""Typer's own words around the help (panel titles, "[default: …]", "[required]"), by the
name of the `typer.rich_utils` constant that holds each: translated with the rest. Click's
own messages ("Usage:", "Missing option …") are not (click has no catalogue of ours)."""


def language_of(args: Sequence[str]) -> str | None:
    """The language named by `--lang X` or `--lang=X` among the root's arguments, else None."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return i18n.normalize(args[i + 1])
        if arg.startswith("--lang="):
            return i18n.normalize(arg.partition("=")[2])
        if not arg.startswith("-"):
            return None  # the command's name: options after it are the command's own
    return None


def commands(root: Any) -> Iterator[Any]:
    """The command and every command under it (typer's click commands)."""
    yield root
    for command in (getattr(root, "commands", None) or {}).values():
        yield from commands(command)


def help_texts(root: Any) -> Iterator[str]:
    """Every help text of the tree, in English (what the catalogues hold)."""
    for command in commands(root):
        for text in (command.help, command.short_help):
            if text:
                yield text
        for param in command.params:
            text = getattr(param, "help", None)
            if text:
                yield text


def translate(root: Any) -> None:
    """Translate the help of every command and option into the current language (again from
    the English when called twice)."""
    for command in commands(root):
        for attribute in ("help", "short_help"):
            _translate(command, attribute)
        for param in command.params:
            _translate(param, "help")
        if not hasattr(command, _ENGLISH + "get_help_option"):
            setattr(command, _ENGLISH + "get_help_option", command.get_help_option)
            command.get_help_option = _help_option(command.get_help_option)


def translate_typer() -> None:
    """Typer's own words (`TYPER_TEXTS`) in the current language."""
    import typer.rich_utils

    for name, english in TYPER_TEXTS.items():
        setattr(typer.rich_utils, name, i18n.gettext(english))


def _help_option(original: Any) -> Any:
    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None and option.help == HELP_OPTION:
            option.help = i18n.gettext(HELP_OPTION)
        return option

    return get_help_option


def _translate(obj: Any, attribute: str) -> None:
    english = getattr(obj, _ENGLISH + attribute, None)
    if english is None:
        english = getattr(obj, attribute, None)
        if not english:
            return
        setattr(obj, _ENGLISH + attribute, english)
    setattr(obj, attribute, i18n.gettext(english))


class LocalizedGroup(TyperGroup):
    """The root `neurocart` group: the language is chosen, and the help translated, before
    anything is parsed or printed."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        """Choose the language from the arguments (or the site default), translate the help,
        then parse as click does."""
        from neurocart.config import get_settings

        i18n.activate(language_of(args) or get_settings().default_locale)
        translate(self)
        translate_typer()
        return super().make_context(info_name, args, parent, **extra)
