"""What a calculator's fields are, read off its input model.

The CLI help, the web forms and the vectorized frame validation all describe fields from
here, so a range or unit is written once, in the model.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class FieldSpec:
    """A flat description of one input field."""

    name: str
    kind: Literal["float", "int", "bool", "enum", "list", "object"]
    required: bool
    optional: bool
    default: Any
    description: str
    unit: str | None
    ge: float | None
    le: float | None
    gt: float | None
    lt: float | None
    choices: tuple[Any, ...]
    item_fields: tuple[FieldSpec, ...] = ()
    """For a list of objects or a nested object: the fields of each item, names prefixed."""

    @property
    def range_text(self) -> str:
        """The allowed values in words, e.g. '30.0–45.0' or 'none, blow_by, ...'."""
        if self.kind == "enum":
            return ", ".join(str(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        low = f"≥ {_fmt(self.ge)}" if self.ge is not None else None
        low = f"> {_fmt(self.gt)}" if self.gt is not None else low
        high = f"≤ {_fmt(self.le)}" if self.le is not None else None
        high = f"< {_fmt(self.lt)}" if self.lt is not None else high
        if self.ge is not None and self.le is not None:
            return f"{_fmt(self.ge)}–{_fmt(self.le)}"
        return " and ".join(x for x in (low, high) if x) or "any"

    @property
    def expected(self) -> str:
        """The allowed values with the unit, for error messages."""
        return self.range_text + (f" {self.unit}" if self.unit and self.kind != "enum" else "")


def _fmt(x: float | None) -> str:
    return f"{x:g}" if x is not None else ""


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Strip `X | None`; say whether None was allowed."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return annotation, optional
    return annotation, False


def _kind(
    annotation: Any,
) -> tuple[Literal["float", "int", "bool", "enum", "list", "object"], tuple[Any, ...]]:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "enum", typing.get_args(annotation)
    if origin in (list, tuple) or annotation in (list, tuple):
        return "list", ()
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    return "object", ()


def _bounds(info: FieldInfo) -> dict[str, float | None]:
    out: dict[str, float | None] = {"ge": None, "le": None, "gt": None, "lt": None}
    for m in info.metadata:
        for key, cls in (
            ("ge", annotated_types.Ge),
            ("le", annotated_types.Le),
            ("gt", annotated_types.Gt),
            ("lt", annotated_types.Lt),
        ):
            if isinstance(m, cls):
                out[key] = float(getattr(m, key))
    return out


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `list[Model]` or `Model`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (list, tuple) and args:
        return _item_model(args[0])
    return None


def walk_fields(specs: list[FieldSpec]) -> list[FieldSpec]:
    """Every field, nested item fields included (their names like `anc_series.*.day`)."""
    out: list[FieldSpec] = []
    for spec in specs:
        out.append(spec)
        out.extend(walk_fields(list(spec.item_fields)))
    return out


def field_specs(model: type[BaseModel], prefix: str = "") -> list[FieldSpec]:
    """Describe every field of an input model, in declaration order."""
    specs = []
    for name, info in model.model_fields.items():
        annotation, optional = _unwrap(info.annotation)
        kind, choices = _kind(annotation)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        unit = extra.get("unit")
        item = _item_model(annotation)
        item_prefix = f"{prefix}{name}.*." if kind == "list" else f"{prefix}{name}."
        specs.append(
            FieldSpec(
                name=prefix + name,
                kind=kind,
                required=info.is_required(),
                optional=optional,
                default=None if info.is_required() else info.get_default(call_default_factory=True),
                description=info.description or "",
                unit=str(unit) if unit else None,
                choices=choices,
                item_fields=tuple(field_specs(item, item_prefix)) if item else (),
                **_bounds(info),
            )
        )
    return specs
