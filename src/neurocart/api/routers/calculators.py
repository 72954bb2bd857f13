"""The clinical calculators: list them with their field specs, run one (nothing is stored)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Path

from neurocart.api.deps import require
from neurocart.api.routing import api_router
from neurocart.api.schemas import CalculatorOut, FieldOut
from neurocart.security import Action, Resource
from neurocart.standards import REGISTRY, Calculator, Result
from neurocart.standards import get as get_calculator
from neurocart.standards.fields import FieldSpec
from neurocart.store import User

router = api_router(prefix="/api/v1/calculators", tags=["calculators"])

Reader = Annotated[User, Depends(require(Resource.CALCULATORS, Action.READ))]
NamePath = Annotated[str, Path(min_length=1, max_length=64)]


def _field(spec: FieldSpec) -> FieldOut:
    return FieldOut(
        name=spec.name,
        kind=spec.kind,
        required=spec.required,
        optional=spec.optional,
        default=spec.default,
        description=spec.description,
        unit=spec.unit,
        ge=spec.ge,
        le=spec.le,
        gt=spec.gt,
        lt=spec.lt,
        choices=list(spec.choices),
        expected=spec.expected,
        item_fields=[_field(f) for f in spec.item_fields],
    )


def _calculator(calculator: Calculator[Any]) -> CalculatorOut:
    return CalculatorOut(
        name=calculator.name,
        title=calculator.title,
        citation=calculator.citation,
        fields=[_field(f) for f in calculator.fields],
    )


@router.get("")
def list_calculators(user: Reader) -> list[CalculatorOut]:
    """Every calculator with its source publication and fields, so a client can build its forms."""
    return [_calculator(c) for _, c in sorted(REGISTRY.items())]


@router.get("/{name}")
def describe_calculator(name: NamePath, user: Reader) -> CalculatorOut:
    """One calculator's title, source and fields (units, limits, choices); 404 naming an unknown
    calculator."""
    return _calculator(get_calculator(name))


@router.post("/{name}")
def run_calculator(
    name: NamePath,
    user: Reader,
    inputs: Annotated[dict[str, Any], Body(description="the calculator's named inputs")],
) -> Result:
    """Grade `inputs`; a 422 names every field at fault. Nothing is stored."""
    calculator = get_calculator(name)
    return calculator(calculator.parse(inputs))
