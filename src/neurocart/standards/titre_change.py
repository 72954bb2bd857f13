"""Change of a disease autoantibody titre in dilution steps (AQP4-IgG, MOG-IgG, SRP ...).

A titre is the reciprocal end-point dilution of a series starting at `starting_dilution`
(1:10) with factor `dilution_factor` (2): step k(t) = log_factor(t / start), a whole number ≥ 0;
0 means negative at the first dilution and counts as k = −1 (one step below the first
dilution, a neurocart convention). value = k(follow-up) − k(baseline).

Labels: `seroreversion` (positive → 0), `seroconversion` (0 → positive),
`persistently_negative`, `fall` (≤ −`fall_steps_threshold`, default 2 steps = 4-fold),
`rise` (≥ +1 step: the ≥ 2-fold rise associated with NMOSD relapse, OR 6.59 — Nasello M, et
al. Brain Commun 2025;7:fcaf312, doi:10.1093/braincomms/fcaf312), `stable`.
The 2-step fall is the general serology convention; no AQP4/AChR source defining it was found,
so it is a parameter. Titres of different methods or laboratories are never compared: the
caller pairs results of one method and laboratory (see the antibody record).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Nasello M, et al. Brain Commun 2025;7:fcaf312, doi:10.1093/braincomms/fcaf312 (≥ 2-fold "
    "rise); dilution-step arithmetic of end-point titration (neurocart convention for 0)"
)


class TitreChangeInput(CalcInput):
    """The inputs of the titre change: baseline and follow-up titres and the dilution series they
    come from.
    """

    baseline_titre: int = field(
        description="reciprocal end-point titre at baseline (0 = negative)", ge=0, le=10**9
    )
    follow_up_titre: int = field(
        description="reciprocal end-point titre at follow-up (0 = negative)", ge=0, le=10**9
    )
    starting_dilution: int = field(10, description="first dilution of the series (1:10 → 10)",
                                   ge=1, le=100000)  # fmt: skip
    dilution_factor: int = field(2, description="factor between dilutions", ge=2, le=10)
    fall_steps_threshold: int = field(
        2, description="dilution steps down that count as a fall", ge=1, le=20
    )


def steps(titre: Any, start: Any, factor: Any) -> npt.NDArray[np.float64]:
    """k(t) = log_factor(t/start), −1 for a negative titre; NaN when t is not on the series."""
    t = np.asarray(titre, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.log(t / start) / np.log(factor)
    whole = np.round(k)
    on_series = (whole >= 0) & np.isclose(start * np.power(factor, whole), t, rtol=1e-9)
    return np.asarray(np.where(t == 0, -1.0, np.where(on_series, whole, np.nan)))


NEGATIVE = "negative"
CODES = ("persistently_negative", "seroreversion", "seroconversion", "fall", "rise", "stable")
LABELS = (*CODES, *(code.replace("_", " ") for code in CODES))
"""Its readings as codes and as the reasons write them (the catalogues list them:
`locale/sources.toml`)."""
_NUMBERS = ("start", "factor", "k0", "k1", "change", "n")
SERIES = Reason(
    "series 1:{start} × {factor}: {baseline} is step {k0}, {follow_up} is step {k1} (negative = "
    "step −1)",
    numbers=_NUMBERS,
)
CHANGE = Reason("change {change} step(s): {label}", numbers=_NUMBERS)
FALL = Reason("a fall of ≥ {n} steps", numbers=_NUMBERS)
OFF_SERIES = Reason(
    "not on the dilution series starting_dilution × dilution_factor^k (e.g. 10, 20, 40 …)"
)


def _off_series(name: str) -> Check:
    return Check(
        name,
        OFF_SERIES(),
        lambda c: np.isnan(steps(c[name], c["starting_dilution"], c["dilution_factor"])),
    )


CHECKS = (_off_series("baseline_titre"), _off_series("follow_up_titre"))


def _grade(c: Columns) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    start, factor = c["starting_dilution"], c["dilution_factor"]
    k0 = steps(c["baseline_titre"], start, factor)
    k1 = steps(c["follow_up_titre"], start, factor)
    change = (k1 - k0).astype(np.int64)
    pos0, pos1 = c["baseline_titre"] > 0, c["follow_up_titre"] > 0
    labels = np.select(
        [
            ~pos0 & ~pos1,
            pos0 & ~pos1,
            ~pos0 & pos1,
            change <= -c["fall_steps_threshold"],
            change >= 1,
        ],
        ["persistently_negative", "seroreversion", "seroconversion", "fall", "rise"],
        "stable",
    ).astype(object)
    return change, labels


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    return _grade(c)


def _text(titre: int) -> str:
    return NEGATIVE if titre == 0 else f"1:{titre}"


@register(
    name="titre_change",
    title="Autoantibody titre change in dilution steps",
    citation=CITATION,
    input_model=TitreChangeInput,
    vectorized=_frame,
    checks=CHECKS,
)
def titre_change(inp: TitreChangeInput) -> Grading:
    """Dilution steps from baseline to follow-up, and what the change means."""
    c = {name: np.asarray(float(getattr(inp, name))) for name in TitreChangeInput.model_fields}
    change_a, labels = _grade(c)
    change, label = int(change_a), str(labels.item())
    start, factor = inp.starting_dilution, inp.dilution_factor
    k0 = int(steps(inp.baseline_titre, start, factor))
    k1 = int(steps(inp.follow_up_titre, start, factor))
    reasons = [
        SERIES(
            start=start, factor=factor, baseline=_text(inp.baseline_titre), k0=k0,
            follow_up=_text(inp.follow_up_titre), k1=k1,
        ),
        CHANGE(change=f"{change:+d}", label=label.replace("_", " ")),
    ]  # fmt: skip
    if label == "fall":
        reasons.append(FALL(n=inp.fall_steps_threshold))
    return Grading(
        value=change,
        label=label,
        reasons=reasons,
        details={"baseline_step": k0, "follow_up_step": k1},
    )
