"""No words in a template outside the translation calls: what a page or the report says is
in the catalogue, so a Chinese page never shows an English sentence written into its HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import neurocart

PACKAGE = Path(neurocart.__file__).parent
TEMPLATES = sorted([*PACKAGE.rglob("*.html"), *PACKAGE.rglob("*.j2")])

UNTRANSLATED = {
    # scale and test abbreviations stay Latin in every language; codes and units too
    *("EDSS", "ICE", "QMG", "MG-ADL", "INCAT", "ICAHT", "CRS", "ICANS", "CAR-T", "MRI", "NCS"),
    *("SpO", "UTC", "CSV", "ACK", "anti-", "csv", "neurocart"),
}
_ATTRIBUTES = re.compile(r'(?:aria-label|title|placeholder|alt)="([^"]*)"')
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def bare_words(source: str) -> list[str]:
    """Words of `source` that are text or a labelling attribute and not in a Jinja tag."""
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    attributes = [_JINJA.sub(" ", a) for a in _ATTRIBUTES.findall(text)]
    text = re.sub(r"<[^>]*>", "\n", _JINJA.sub(" ", text), flags=re.S)
    words = re.findall(r"[A-Za-z][A-Za-z\-]+", " ".join([text, *attributes]))
    return [w for w in words if w not in UNTRANSLATED]


def test_the_check_finds_a_bare_sentence_and_a_bare_label() -> None:
    assert bare_words('<p>{{ _("Saved") }} Not saved</p>') == ["Not", "saved"]
    assert bare_words('<nav aria-label="main">{{ x }}</nav>') == ["main"]
    assert bare_words('<button title="{{ _(\'Go\') }}">{{ _("Go") }}</button>') == []


def test_there_are_templates_to_check() -> None:
    names = {p.name for p in TEMPLATES}
    assert {"base.html", "_alert.html", "report.html.j2"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_word_of_a_template_is_translated(path: Path) -> None:
    assert bare_words(path.read_text(encoding="utf-8")) == []
