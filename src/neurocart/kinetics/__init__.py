"""CAR-T cellular kinetics and the immune effects of a BCMA/CD19 CAR-T (pure, on tidy frames).

    >>> from neurocart.kinetics import kinetics
    >>> table = kinetics(frames.observations, frames.courses)  # doctest: +SKIP

`kinetics` gives one row per patient × compartment (Cmax, Tmax, AUC0–28 linear-up/log-down,
persistence, CSF/blood ratio); `b_cell_aplasia` and `igg_nadir` one row per patient. The
conventions are stated in `nca`, `cart` and `immune`.
"""

from __future__ import annotations

from neurocart.kinetics.cart import (
    CODES,
    DEFAULT_LLOQ,
    cart_samples,
    csf_blood_pairs,
    kinetics,
)
from neurocart.kinetics.days import infusions, with_days
from neurocart.kinetics.immune import b_cell_aplasia, igg_nadir
from neurocart.kinetics.nca import Profile, auc, profile

__all__ = [
    "CODES",
    "DEFAULT_LLOQ",
    "Profile",
    "auc",
    "b_cell_aplasia",
    "cart_samples",
    "csf_blood_pairs",
    "igg_nadir",
    "infusions",
    "kinetics",
    "profile",
    "with_days",
]
