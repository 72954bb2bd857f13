"""Who the simulated patients are: diagnosis, subtype, sex, age, disease duration, therapies.

Drawn for the whole cohort at once (numpy arrays, one entry per patient). The latent
response class is drawn here too, because the published non-responders differ in baseline
features (longer disease duration), which gives responder stratification something to find.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.simulate.params import SimParams

Arr = npt.NDArray[Any]


def choose(rng: np.random.Generator, weights: Mapping[str, float], n: int) -> Arr:
    """n draws of the keys of `weights` (normalized), as an object array."""
    keys = list(weights)
    p = np.asarray([weights[k] for k in keys], dtype=float)
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {dict(weights)}")
    out = np.empty(n, dtype=object)
    out[:] = np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]
    return out


def uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> Arr:
    """`n` draws uniform between the two bounds."""
    return rng.uniform(bounds[0], bounds[1], n)


@dataclass(frozen=True)
class Baseline:
    """The simulated patients at screening, one array per attribute (index = patient)."""

    study_id: Arr
    site: Arr
    sex: Arr
    age: Arr
    diagnosis: Arr
    subtype: Arr
    duration_years: Arr
    prior_therapies: list[list[str]]
    anti_cd20: Arr
    non_responder: Arr
    late_relapser: Arr  # a non-responder who first responds, then relapses late

    @property
    def n(self) -> int:
        return int(self.study_id.size)


def draw_baseline(
    n: int, rng: np.random.Generator, p: SimParams, diseases: Mapping[str, float] | None
) -> Baseline:
    """Draw `n` patients: diagnosis (from `diseases` or the defaults), subtype, sex, age, disease
    duration, prior therapies and response type."""
    mix = dict(diseases) if diseases is not None else p.diseases
    unknown = set(mix) - set(p.subtypes)
    if unknown:
        raise ValueError(f"diseases: unknown {sorted(unknown)}; expected {sorted(p.subtypes)}")
    diagnosis = choose(rng, mix, n)
    subtype = np.empty(n, dtype=object)
    sex = np.empty(n, dtype=object)
    u = rng.uniform(size=n)
    for d in p.subtypes:
        idx = np.flatnonzero(diagnosis == d)
        subtype[idx] = choose(rng, p.subtypes[d], idx.size)
        sex[idx] = np.where(u[idx] < p.female_share[d], "female", "male")
    age = np.clip(rng.normal(p.age_mean, p.age_sd, n), *p.age_range)
    duration = np.clip(
        p.duration_median_years * np.exp(rng.normal(0.0, p.duration_sigma, n)),
        *p.duration_range_years,
    )
    duration = np.minimum(duration, age - 14.0)
    counts = rng.integers(p.prior_therapies_count[0], p.prior_therapies_count[1] + 1, n)
    keys = rng.uniform(size=(n, 8))
    prior: list[list[str]] = []
    for i in range(n):
        options = p.prior_therapies[diagnosis[i]]
        k = min(int(counts[i]), len(options))
        picked = np.argsort(keys[i, : len(options)])[:k]
        prior.append([options[j] for j in sorted(picked)])
    anti_cd20 = np.array([any(t in p.anti_cd20 for t in pt) for pt in prior])
    base_logit = np.log(p.non_responder_share / (1.0 - p.non_responder_share))
    logit = base_logit + p.non_responder_duration_log_odds_per_year * (
        duration - p.duration_median_years
    )
    non_responder = rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-logit))
    late = non_responder & (rng.uniform(size=n) < p.late_relapse_share_of_non_responders)
    width = max(4, len(str(n)))
    ids = np.array([f"NC-{i + 1:0{width}d}" for i in range(n)], dtype=object)
    return Baseline(
        study_id=ids,
        site=choose(rng, p.sites, n),
        sex=sex,
        age=age,
        diagnosis=diagnosis,
        subtype=subtype,
        duration_years=duration,
        prior_therapies=prior,
        anti_cd20=anti_cd20,
        non_responder=non_responder,
        late_relapser=late,
    )
