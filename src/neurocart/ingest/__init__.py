"""Observation ingest: codes, units and plausibility, applied once before anything is stored.

    from neurocart.ingest import ObservationIn, normalize_observation, normalize_batch
    obs = normalize_observation(ObservationIn(code="777-3", value=150_000, unit="/µL",
                                              effective_at=..., source="lab"))
    obs.value, obs.unit                          # (150.0, "×10⁹/L")

Pure: no database, no clock. `codes` is the catalogue, `units` the conversions, `validate` the
rules and the batch variant the API and benchmarks use.
"""

from __future__ import annotations

from neurocart.ingest.codes import (
    CATALOGUE,
    LOCAL,
    LOINC,
    ObservationCode,
    Specimen,
    by_key,
    codes,
    lookup,
)
from neurocart.ingest.errors import (
    EffectiveTimeError,
    ImpossibleValueError,
    ObservationError,
    RowError,
    SpecimenError,
    UnitError,
    UnknownCodeError,
)
from neurocart.ingest.units import Conversion, unit_key
from neurocart.ingest.validate import (
    BatchResult,
    NormalizedObservation,
    ObservationIn,
    normalize_batch,
    normalize_observation,
)

__all__ = [
    "CATALOGUE",
    "LOCAL",
    "LOINC",
    "BatchResult",
    "Conversion",
    "EffectiveTimeError",
    "ImpossibleValueError",
    "NormalizedObservation",
    "ObservationCode",
    "ObservationError",
    "ObservationIn",
    "RowError",
    "Specimen",
    "SpecimenError",
    "UnitError",
    "UnknownCodeError",
    "by_key",
    "codes",
    "lookup",
    "normalize_batch",
    "normalize_observation",
    "unit_key",
]
