"""Building the message catalogues: what is extracted, from where, and how complete they are.

`babel.cfg` (at the top of the repository) names the sources: the Python of the faces and the
calculators (`_()`, `N_()`, `Reason()`), the Jinja2 templates (`{{ _() }}`), and two
extractors of this module for texts that are data rather than code:

- `extract_rules`: each monitor rule's title and recommended actions, with the rule's id as
  the gettext context (the pages translate an alert by its rule, `neurocart.web.localized`);
- `extract_protocol`: the titles of the care-pathway protocols' phases and tasks;
- `extract_data`: texts the pages draw from the core's tables (calculator field labels and
  help, bedside entry forms, the calculators' cross-field checks and field descriptions, the
  help of the command line, the words calculator reasons quote), listed in
  `locale/sources.toml`; a percent sign before a word is keyed as {percent}
  (`neurocart.i18n.percent_key`).

    make catalogues        # extract, update both .po files, compile the .mo files

`missing(locale)` lists what the compiled catalogue of `locale` lacks; the test suite fails
while that list is not empty.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
"""The repository (babel.cfg lives there; a wheel has no sources to extract from)."""
PACKAGE = Path(__file__).resolve().parent
LOCALE_DIR = PACKAGE / "locale"

Extracted = tuple[int, str, Any, list[str]]


def extract_rules(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[Extracted]:
    """Titles, actions and sources of a monitor rule file, in the context of each rule's id
    (a source as the pages cite it: without the project's internal references)."""
    from neurocart.web.alert_text import citation

    data = tomllib.loads(fileobj.read().decode("utf-8"))
    for rule in data.get("rule", []):
        rule_id = str(rule["id"])
        texts = [rule.get("title"), rule.get("action")]
        texts.extend((rule.get("action_by_grade") or {}).values())
        if rule.get("source"):
            texts.append(citation(str(rule["source"])))
        for text in texts:
            if text:
                yield 0, "pgettext", (rule_id, str(text)), []


def extract_protocol(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[Extracted]:
    """Titles of a care-pathway protocol: the protocol, its phases and its tasks (the pages
    show them through `neurocart.web.localized.term`)."""
    data = tomllib.loads(fileobj.read().decode("utf-8"))
    titles = [data.get("protocol", {}).get("title")]
    titles += [phase.get("title") for phase in data.get("phases", [])]
    titles += [task.get("title") for task in data.get("tasks", [])]
    for title in titles:
        if title:
            yield 0, "gettext", str(title), []


def extract_data(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[Extracted]:
    """Texts of the core's tables that the pages show (see `locale/sources.toml`)."""
    from neurocart.i18n import percent_key

    spec = tomllib.loads(fileobj.read().decode("utf-8"))
    for text in _data_texts(spec):
        yield 0, "gettext", percent_key(text), []


def _data_texts(spec: dict[str, Any]) -> Iterator[str]:
    from neurocart.web import entry, forms

    for name in spec.get("calculators", []):
        form = forms.form_for(name)
        yield form.title
        yield form.citation
        for f in form.fields:
            yield from _field_texts(f)
    if spec.get("entry_forms"):
        for entry_form in entry.FORMS.values():
            yield from (entry_form.title, entry_form.intro, entry_form.at_label)
            for ef in entry_form.fields:
                yield ef.label
                yield from (text for _, text in ef.choices)
    if spec.get("calculator_titles"):
        from neurocart.standards import REGISTRY

        yield from (REGISTRY[name].title for name in sorted(REGISTRY))
    if spec.get("checks"):
        from neurocart.standards import REGISTRY

        yield from sorted({c.message for calc in REGISTRY.values() for c in calc.checks})
    if spec.get("field_descriptions"):
        from neurocart.standards import REGISTRY
        from neurocart.standards.fields import walk_fields

        yield from sorted(
            {f.description for calc in REGISTRY.values() for f in walk_fields(calc.fields)} - {""}
        )
    if spec.get("command_line"):
        import typer.main

        from neurocart.cli import app
        from neurocart.cli.localized import help_texts

        yield from dict.fromkeys(help_texts(typer.main.get_command(app)))
    if spec.get("signals"):
        from neurocart.monitor.signals import SIGNALS

        yield from sorted({signal.label for signal in SIGNALS.values()})
    for module_name, attribute in (tuple(w.split(":")) for w in spec.get("words", [])):
        import importlib

        table = getattr(importlib.import_module(module_name), attribute)
        table = table() if callable(table) else table  # a function computes its words
        yield from (table.values() if isinstance(table, dict) else table)


def _field_texts(f: Any) -> Iterator[str]:
    yield f.label
    if f.help:
        yield f.help
    for c in f.choices:
        if isinstance(c, str):
            yield c.replace("_", " ")
    for child in f.children:
        yield from _field_texts(child)


def extracted() -> dict[tuple[str | None, str], str]:
    """Every message of the sources: (context, msgid) → where it was found."""
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found: dict[tuple[str | None, str], str] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT / "src"), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((context, msgid), f"{filename}:{lineno}")
    return found


KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
    "Reason": None,
}
"""The Python call names whose string arguments are messages (babel's keyword spec)."""


def missing(locale: str) -> list[str]:
    """Messages of the sources that the compiled catalogue of `locale` lacks or leaves
    untranslated, as "where: text" lines (empty when the catalogue is complete)."""
    mo = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as f:
        catalogue = read_mo(f)
    out = []
    for (context, msgid), where in sorted(extracted().items(), key=lambda kv: kv[1]):
        message = catalogue.get(msgid, context)
        text = message.string if message is not None else None
        if isinstance(text, tuple | list):
            text = text[0] if all(text) else ""
        if not text:
            out.append(f"{where}: {msgid!r}" + (f" [{context}]" if context else ""))
    return out


def stale(locale: str) -> bool:
    """Whether the compiled .mo of `locale` differs from its .po (someone forgot to compile)."""
    directory = LOCALE_DIR / locale / "LC_MESSAGES"
    with (directory / "messages.po").open("rb") as f:
        po = read_po(f)
    with (directory / "messages.mo").open("rb") as f:
        mo = read_mo(f)

    def texts(catalogue: Any) -> dict[tuple[str | None, str], tuple[str, ...]]:
        out = {}
        for m in catalogue:
            strings = (m.string,) if isinstance(m.string, str) else tuple(m.string)
            if m.id and all(strings) and not m.fuzzy:
                out[(m.context, m.id if isinstance(m.id, str) else m.id[0])] = strings
        return out

    return texts(po) != texts(mo)
