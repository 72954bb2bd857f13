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

from rich.markup import escape
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
name of the `typer.rich_utils` constant that holds each: translated with the rest."""

MESSAGES = (
    N_("Missing {param_type} {param_hint}."),
    N_("Missing {param_type} {param_hint}. {error}"),
    N_("Missing {param_type}."),
    N_("Missing command."),
    N_("Invalid value for {param_hint}: {error}"),
    N_("Invalid value: {error}"),
    N_("No such option: {option}"),
    N_("No such option: {option} (Possible options: {options})"),
    N_("No such command {name}."),
    N_("No such command {name}. Did you mean {names}?"),
    N_("Got unexpected extra argument(s) ({args})"),
    N_("Option {option} requires an argument."),
    N_("Option {option} requires {n} arguments."),
    N_("Option {option} does not take a value."),
    N_("Argument {name} takes {n} values."),
    N_("Value {value} is not a valid {label}."),
    N_("Value error, {error}"),
    N_("{typed} is not one of {allowed}."),
    N_("{label} {path} does not exist."),
    N_("{label} {path} is a file."),
    N_("{label} {path} is a directory."),
    N_("{label} {path} is not readable."),
    N_("{label} {path} is not writable."),
    N_("Input should be greater than or equal to {n}"),
    N_("Input should be greater than {n}"),
    N_("Input should be less than or equal to {n}"),
    N_("Input should be less than {n}"),
)
"""click's own messages (typer's copy of click writes them in English, without gettext) and
typer's, as message keys with named fields: a usage error is said in the run's language
(`usage_error_text`, through `neurocart.i18n.message_text` like every other keyed text). The
option, the command and the value given stay as typed."""
CLICK_WORDS = (
    N_("option"),
    N_("argument"),
    N_("parameter"),
    N_("file"),
    N_("dir"),
    N_("path"),
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be a valid number, unable to parse string as a number"),
    N_("Input should be a valid boolean, unable to interpret input"),
)
"""Words that click's messages quote (the kind of a missing parameter or of a path) and
pydantic's messages for a value of the wrong type, as typer quotes them."""
USAGE = N_("Usage:")
"""The usage line's prefix (the help page and a usage error)."""


def usage_error_text(text: str) -> str:
    """A usage error of click or typer (`MESSAGES`) in the current language; any other text,
    and English, as it is."""
    return i18n.message_text(text, __name__)


def route_click() -> None:
    """Say click's own words in the run's language, once per process: the usage line's prefix
    (typer's click writes "Usage: " itself) and the message of a usage error, which typer
    prints through `typer.rich_utils.rich_format_error`; both in English unchanged."""
    import typer.rich_utils
    from typer._click.formatting import HelpFormatter

    if getattr(HelpFormatter.write_usage, _ROUTED, False):
        return
    write_usage, format_error = HelpFormatter.write_usage, typer.rich_utils.rich_format_error

    def localized_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None:
            prefix = i18n.gettext(USAGE) + " "
        write_usage(self, prog, args, prefix)

    def localized_error(error: Any) -> None:
        english = error.format_message
        error.format_message = lambda: usage_error_text(english())
        format_error(error)

    setattr(localized_usage, _ROUTED, True)
    HelpFormatter.write_usage = localized_usage  # type: ignore[method-assign]
    typer.rich_utils.rich_format_error = localized_error  # type: ignore[assignment]


_ROUTED = "_neurocart_routed"


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
    the English when called twice). A help text is plain text: typer reads it as rich markup,
    so brackets in it are escaped ("TOML [terms]" is shown, not taken for a style)."""
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
    setattr(obj, attribute, escape(i18n.gettext(english)))


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
        route_click()
        return super().make_context(info_name, args, parent, **extra)
