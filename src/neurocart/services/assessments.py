"""Assessments: a clinician's inputs scored by the instrument's calculator, then stored.

The calculator runs here, in the service, so the store only stores: the validated inputs,
the whole Result (value, label, reasons, citation) and the value and label as columns. A
correction with new inputs is scored again; one that only moves the time keeps the score.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neurocart.standards import get as get_calculator
from neurocart.standards.registry import stored_number
from neurocart.store import repo
from neurocart.store.models import Assessment, User
from neurocart.store.repo import KEEP, Keep


def score(instrument: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the store keeps of a scoring: validated inputs, the Result, value and label.

    Raises `neurocart.standards.CalculatorInputError` naming each bad field (nothing is
    stored), or UnknownCalculatorError for an unknown instrument."""
    calculator = get_calculator(instrument)
    model = calculator.parse(inputs)
    result = calculator(model)
    return {
        "inputs": model.model_dump(mode="json"),
        "result": result.model_dump(mode="json"),
        "value": stored_number(result),
        "label": result.label,
    }


def add_assessment(session: Session, actor: User, item: repo.AssessmentIn) -> Assessment:
    """Score `item.inputs` and store the assessment (audited)."""
    return repo.add_assessment(session, actor, item, scored=score(item.instrument, item.inputs))


def correct_assessment(
    session: Session,
    actor: User,
    assessment_id: int,
    *,
    reason: str,
    inputs: Mapping[str, Any] | Keep = KEEP,
    effective_at: datetime | Keep = KEEP,
) -> Assessment:
    """Supersede an assessment; new inputs are scored again by the calculator."""
    scored: dict[str, Any] | Keep = KEEP
    if not isinstance(inputs, Keep):
        instrument = repo.get_assessment(session, assessment_id).instrument
        scored = score(instrument, inputs)
    return repo.correct_assessment(
        session, actor, assessment_id, reason=reason, scored=scored, effective_at=effective_at
    )
