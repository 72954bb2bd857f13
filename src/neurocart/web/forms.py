"""Assessment forms generated from the calculators' input models, and the way back.

`form_for(name)` describes the widgets of calculator `name` from its FieldSpecs (so a range,
unit or choice is written once, in the model); `parse_form(name, pairs)` turns the posted
``name=value`` pairs into the calculator's input mapping. Values that do not parse are passed
through as text, so the calculator's own error names the field and says what it expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from neurocart.standards import get
from neurocart.standards.fields import FieldSpec
from neurocart.web.numbers import read_number

Widget = Literal["scale", "radio", "select", "checkbox", "number", "group", "rows", "csv"]

SCALE_MAX_SPAN = 6
"""Integer fields with at most this many values (0–5) get one big button per value."""
LIST_ROWS = 10
"""Rows shown for a list of objects (an ANC series, EDSS assessments)."""

FEATURED = ("ice", "icans", "crs", "edss", "mg_adl", "qmg", "mg_composite", "incat", "mrc_sum")
"""The bedside and disease-scale instruments, listed first on the chart."""

BEDSIDE = ("ice", "icans", "crs")
"""Recorded for every patient in the acute phase."""
SCALES_BY_DIAGNOSIS: dict[str, tuple[str, ...]] = {
    "ms": ("edss",),
    "nmosd": ("edss",),
    "mg": ("mg_adl", "qmg", "mg_composite"),
    "cidp": ("incat", "mrc_sum"),
    "imnm": ("mrc_sum", "imacs_tis"),
}
"""The disease scales of each diagnosis (the chart offers these first)."""


def instruments_for(diagnosis: str) -> tuple[str, ...]:
    """The forms the chart offers: the bedside ones, then the diagnosis' disease scales."""
    return BEDSIDE + SCALES_BY_DIAGNOSIS.get(diagnosis, tuple(n for n in FEATURED[3:]))


ICE_HINTS: dict[str, str] = {
    "orientation": "1 point each: year, month, city, hospital",
    "naming": "1 point each: name 3 objects (e.g. clock, pen, button)",
    "commands": "e.g. “show me 2 fingers”, “close your eyes and stick out your tongue”",
    "writing": "writes a standard sentence",
    "attention": "counts backwards from 100 by 10",
    "unarousable": "tick when the patient cannot be roused to do the ICE: the score is 0 and "
    "the items are left blank",
}
"""Bedside prompts for the ICE items (ASTCT 2019, Lee et al.)."""


@dataclass(frozen=True)
class FormField:
    """One input as the template draws it."""

    name: str
    label: str
    widget: Widget
    help: str = ""
    unit: str | None = None
    required: bool = False
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: str = "any"
    default: Any = None
    children: tuple[FormField, ...] = ()
    rows: int = 0

    @property
    def dom_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)

    def row_name(self, index: int, child: FormField) -> str:
        """The posted name of `child` in row `index` of a list (e.g. anc_series.3.day)."""
        return child.name.replace("*", str(index), 1)


@dataclass(frozen=True)
class Form:
    """An HTML form built from a calculator's fields, so the bedside form and the calculator never
    disagree on names, units or limits."""

    calculator: str
    title: str
    citation: str
    fields: tuple[FormField, ...] = field(default_factory=tuple)

    def labels(self) -> dict[str, str]:
        """Field name → label, for naming fields in messages."""
        out = {}
        for f in self.fields:
            out[f.name] = f.label
            for child in f.children:
                out[child.name] = f"{f.label}: {child.label}"
        return out

    def all_names(self) -> list[str]:
        """Every field name whose error slot the page has (list rows expanded)."""
        names: list[str] = []
        for f in self.fields:
            names.append(f.name)
            for child in f.children:
                if f.widget == "rows":
                    names += [f.row_name(i, child) for i in range(f.rows)]
                else:
                    names.append(child.name)
        return names


_UNIT_SUFFIXES = (
    "_10e9_l", "_l_min", "_umol_l", "_mmol_l", "_mg_l", "_ug_l", "_g_l", "_u_l", "_c", "_m",
)  # fmt: skip
_ACRONYMS = {"anc", "ice", "crp", "ldh", "alt", "ast", "haq", "uln", "iec", "hs", "mg", "edss"}


def humanize(name: str) -> str:
    """`brushing_teeth_or_combing_hair` → "Brushing teeth or combing hair" (units shown apart)."""
    last = name.rsplit(".", 1)[-1]
    for suffix in _UNIT_SUFFIXES:
        if last.endswith(suffix) and len(last) > len(suffix):
            last = last.removesuffix(suffix)
            break
    words = [w.upper() if w in _ACRONYMS else w for w in last.split("_")]
    text = " ".join(words).replace("MMT8", "MMT-8").replace("mmt8", "MMT-8")
    return text[:1].upper() + text[1:]


def _field(spec: FieldSpec) -> FormField:
    label = humanize(spec.name)
    common: dict[str, Any] = {
        "name": spec.name,
        "label": label,
        "help": spec.description,
        "unit": spec.unit,
        "required": spec.required,
        "default": spec.default,
    }
    if spec.kind == "bool":
        return FormField(widget="checkbox", **common)
    if spec.kind == "enum":
        widget: Widget = "radio" if len(spec.choices) <= 5 else "select"
        return FormField(widget=widget, choices=spec.choices, **common)
    if spec.kind == "int" and spec.ge is not None and spec.le is not None:
        span = int(spec.le) - int(spec.ge)
        if 0 < span <= SCALE_MAX_SPAN:
            values = tuple(range(int(spec.ge), int(spec.le) + 1))
            return FormField(widget="scale", choices=values, **common)
    if spec.kind in ("int", "float"):
        low = spec.ge if spec.ge is not None else spec.gt
        high = spec.le if spec.le is not None else spec.lt
        step = "1" if spec.kind == "int" else "any"
        return FormField(widget="number", minimum=low, maximum=high, step=step, **common)
    if spec.kind == "object":
        children = tuple(_field(c) for c in spec.item_fields)
        return FormField(widget="group", children=children, **common)
    if spec.kind == "list" and spec.item_fields:
        children = tuple(_field(c) for c in spec.item_fields)
        return FormField(widget="rows", children=children, rows=LIST_ROWS, **common)
    return FormField(widget="csv", **common)  # a list of plain values, comma-separated


def form_for(name: str) -> Form:
    """The form of calculator `name` (UnknownCalculatorError when there is none)."""
    calc = get(name)
    fields = tuple(_field(s) for s in calc.fields)
    if name == "ice":  # the gate first: an unarousable patient cannot do the items
        fields = tuple(
            FormField(**{**f.__dict__, "help": ICE_HINTS.get(f.name, f.help)})
            for f in sorted(fields, key=lambda f: f.name != "unarousable")
        )
    return Form(calc.name, calc.title, calc.citation, fields)


def _convert(spec: FormField, raw: str) -> Any:
    """The posted text as the field's type; what cannot be read is passed on as text so the
    calculator's own error names the field (a decimal comma is read, never dropped:
    `neurocart.web.numbers`)."""
    text = raw.strip()
    if spec.widget in ("scale",) or (spec.widget == "number" and spec.step == "1"):
        number = read_number(text, integer=True)
        return number.value if number.value is not None else text
    if spec.widget == "number":
        number = read_number(text)
        return number.value if number.value is not None else text
    if spec.widget in ("radio", "select"):
        for choice in spec.choices:
            if str(choice) == text:
                return choice
        return text
    return text


def _csv(text: str) -> list[Any]:
    out: list[Any] = []
    for part in re.split(r"[,;\s]+", text.strip()):
        if not part:
            continue
        try:
            out.append(int(part))
        except ValueError:
            try:
                out.append(float(part))
            except ValueError:
                out.append(part)
    return out


def parse_form(form: Form, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The calculator input from posted pairs: blanks left out, unticked boxes false."""
    posted: dict[str, str] = {}
    for key, value in pairs:
        posted[key] = value
    inputs: dict[str, Any] = {}
    for f in form.fields:
        if f.widget == "checkbox":
            inputs[f.name] = f.name in posted and posted[f.name] not in ("", "false", "off")
        elif f.widget == "group":
            group = {
                c.name.rsplit(".", 1)[-1]: _convert(c, posted[c.name])
                for c in f.children
                if posted.get(c.name, "").strip()
            }
            if group:
                inputs[f.name] = group
        elif f.widget == "rows":
            rows = []
            for i in range(f.rows):
                item = {
                    c.name.rsplit(".", 1)[-1]: _convert(c, posted[f.row_name(i, c)])
                    for c in f.children
                    if posted.get(f.row_name(i, c), "").strip()
                }
                if item:
                    rows.append(item)
            if rows or f.required:
                inputs[f.name] = rows
        elif f.widget == "csv":
            if posted.get(f.name, "").strip():
                inputs[f.name] = _csv(posted[f.name])
        elif posted.get(f.name, "").strip():
            inputs[f.name] = _convert(f, posted[f.name])
    return inputs


def values_for_form(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Posted-style values (flat names → text) from an input mapping, to refill a form."""
    out: dict[str, str] = {}
    for key, value in inputs.items():
        if isinstance(value, Mapping):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = str(v)
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            for i, item in enumerate(value):
                for sub, v in item.items():
                    out[f"{key}.{i}.{sub}"] = str(v)
        elif isinstance(value, list):
            out[key] = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[key] = "on" if value else ""
        else:
            out[key] = str(value)
    return out
