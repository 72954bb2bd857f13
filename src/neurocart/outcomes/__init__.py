"""Clinical outcomes per patient and disease after CAR-T (definitions in `definitions`).

>>> from neurocart.outcomes import patient_outcomes
>>> at_12_months = patient_outcomes(frames, at_day=365)  # doctest: +SKIP
"""

from __future__ import annotations

from neurocart.outcomes.definitions import (
    DISEASE_LABELS,
    DISEASES,
    PRIMARY_SCALE,
    RESPONDER_TEXT,
    month_day,
)
from neurocart.outcomes.patient import (
    OUTCOME_COLUMNS,
    follow_up,
    on_maintenance,
    outcomes_at,
    patient_outcomes,
    restrict,
)

__all__ = [
    "DISEASES",
    "DISEASE_LABELS",
    "OUTCOME_COLUMNS",
    "PRIMARY_SCALE",
    "RESPONDER_TEXT",
    "follow_up",
    "month_day",
    "on_maintenance",
    "outcomes_at",
    "patient_outcomes",
    "restrict",
]
