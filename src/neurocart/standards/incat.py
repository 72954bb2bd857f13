"""INCAT disability score (CIDP): arm 0–5 + leg 0–5, value 0–10 (higher = worse).

Hughes R, Bensa S, Willison H, et al.; Inflammatory Neuropathy Cause and Treatment (INCAT)
Group. Randomized controlled trial of intravenous immunoglobulin versus oral prednisolone in
chronic inflammatory demyelinating polyradiculoneuropathy. Ann Neurol 2001;50(2):195–201.
doi:10.1002/ana.1088 (the INCAT disability scale). Clinimetrics: Merkies ISJ, Schmitz PIM, van
der Meché FGA, et al. J Neurol Neurosurg Psychiatry 2002;72(5):596–601. Adjusted INCAT as the
primary responder outcome: Hughes RAC, Donofrio P, Bril V, et al.; ICE Study Group. Lancet
Neurol 2008;7(2):136–144. doi:10.1016/S1474-4422(07)70329-0.

Arm scale: 0 normal; 1 symptoms in one or both arms not affecting doing up zips and buttons,
washing or brushing hair, using a knife and fork together, handling small coins; 2 affecting
but not preventing any of these; 3 preventing one or two; 4 preventing three or all, some
purposeful movement still possible; 5 no purposeful movement. Leg scale: 0 walking unaffected;
1 walking affected but walks independently outdoors; 2 usually uses unilateral support outdoors;
3 usually uses bilateral support outdoors; 4 usually uses a wheelchair outdoors but can stand
and walk a few steps with help; 5 restricted to a wheelchair, cannot stand or walk a few steps
with help. (Item wording cited from memory; the 0–10 total is the
contract's.) The INCAT *Overall Disability Sum Score* (ODSS, Merkies 2002) runs 0–12 with a
0–7 leg scale: a different instrument, not this one.

**Adjusted INCAT change** (ICE trial): changes of the arm score between 0 and 1 (either way)
are not counted; a change ≥ 1 point is clinically meaningful (responder = improvement ≥ 1).
Neurocart computes it by mapping the arm score 0 → 0, 1 → 0, k → k − 1 before taking the
difference, so only the 0↔1 portion of an arm change is dropped: an arm change 2 → 0 counts 1
point (the definition leaves this open; this is neurocart's reading); leg changes count in full.
The raw change and the adjusted (counted) change are both reported.

`previous_arm` and `previous_leg` (optional) must be given together. `adjusted_changes` gives
the adjusted change of a whole table of inputs at once (a cohort's CIDP visits), validated as
`calculate_frame` validates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from neurocart.standards._change import assess_change
from neurocart.standards._labels import by_integer
from neurocart.standards.errors import CalculatorInputError, FieldProblem
from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, get, register

if TYPE_CHECKING:  # pandas is imported where it is used: importing the calculators
    import pandas as pd  # (the API's start-up) does not load it

CITATION = (
    "Hughes R et al. Randomized controlled trial of intravenous immunoglobulin versus oral "
    "prednisolone in CIDP. Ann Neurol 2001;50(2):195–201. doi:10.1002/ana.1088; adjusted INCAT: "
    "Hughes RAC et al. (ICE). Lancet Neurol 2008;7(2):136–144. "
    "doi:10.1016/S1474-4422(07)70329-0"
)

LIMB_MAX = 5
TOTAL_MAX = 10
MEANINGFUL_CHANGE = 1


class IncatInput(CalcInput):
    """The INCAT arm and leg disability grades and, optionally, the previous ones to classify the
    change."""

    arm: int = field(
        description="arm disability: 0 normal – 5 no purposeful movement", ge=0, le=LIMB_MAX
    )
    leg: int = field(
        description="leg disability: 0 walking unaffected – 5 wheelchair-bound, cannot stand",
        ge=0,
        le=LIMB_MAX,
    )
    previous_arm: int | None = field(
        None, description="arm score at the previous assessment", ge=0, le=LIMB_MAX
    )
    previous_leg: int | None = field(
        None, description="leg score at the previous assessment", ge=0, le=LIMB_MAX
    )


CHECKS = (
    Check(
        field="previous_leg",
        message="give previous_leg together with previous_arm (the change needs both limbs)",
        violated=lambda c: ~np.isnan(c["previous_arm"]) & np.isnan(c["previous_leg"]),
    ),
    Check(
        field="previous_arm",
        message="give previous_arm together with previous_leg (the change needs both limbs)",
        violated=lambda c: np.isnan(c["previous_arm"]) & ~np.isnan(c["previous_leg"]),
    ),
)


def adjusted_arm(arm: int) -> int:
    """The arm score as the adjusted INCAT counts it: 0 and 1 are the same level."""
    return max(arm - 1, 0)


def _adjusted_arms(arm: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """`adjusted_arm` of every row."""
    return np.maximum(arm - 1, 0)


LABEL = Reason("INCAT {total} (arm {arm}, leg {leg})")
TOTAL = Reason("INCAT = arm {arm} + leg {leg} = {total}/{top}")
ARM_NOT_COUNTED = Reason(
    "arm {previous} → {arm}: the change between 0 and 1 is not counted by the adjusted INCAT "
    "(arm counts {counted})"
)
COUNTED_NAME = "adjusted INCAT change"
WORDS = (COUNTED_NAME,)
"""The texts its reasons quote (the catalogues list them: `locale/sources.toml`)."""


def _label(arm: int, leg: int) -> str:
    return LABEL(total=arm + leg, arm=arm, leg=leg)


def _labels(arm: npt.NDArray[Any], leg: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """One label per (arm, leg) pair, formatted once per distinct pair."""
    limbs = LIMB_MAX + 1
    return by_integer(
        np.asarray(arm, dtype=np.int64) * limbs + np.asarray(leg, dtype=np.int64),
        lambda pair: _label(pair // limbs, pair % limbs),
    )


def _frame(c: Columns) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    arm = np.asarray(c["arm"], dtype=np.float64).astype(np.int64)
    leg = np.asarray(c["leg"], dtype=np.float64).astype(np.int64)
    return arm + leg, _labels(arm, leg)


@register(
    name="incat",
    title="INCAT disability score (CIDP), with the adjusted INCAT change",
    citation=CITATION,
    input_model=IncatInput,
    vectorized=_frame,
    checks=CHECKS,
)
def incat(inp: IncatInput) -> Grading:
    """Arm + leg; classifies the adjusted change from the previous arm and leg scores."""
    total = inp.arm + inp.leg
    reasons = [TOTAL(arm=inp.arm, leg=inp.leg, total=total, top=TOTAL_MAX)]
    details: dict[str, Any] = {"arm": inp.arm, "leg": inp.leg}
    if inp.previous_arm is not None and inp.previous_leg is not None:
        arm_counted = adjusted_arm(inp.arm) - adjusted_arm(inp.previous_arm)
        leg_change = inp.leg - inp.previous_leg
        counted = arm_counted + leg_change
        if inp.arm != inp.previous_arm and arm_counted != inp.arm - inp.previous_arm:
            reasons.append(
                ARM_NOT_COUNTED(previous=inp.previous_arm, arm=inp.arm, counted=f"{arm_counted:+d}")
            )
        change = assess_change(
            scale="INCAT",
            previous=inp.previous_arm + inp.previous_leg,
            current=total,
            threshold=MEANINGFUL_CHANGE,
            higher_is_better=False,
            counted_change=counted,
            counted_name=COUNTED_NAME,
        )
        reasons.append(change.reason())
        details.update(change.details())
        details.pop("counted_change", None)
        details["adjusted_change"] = counted
        details["previous_arm"] = inp.previous_arm
        details["previous_leg"] = inp.previous_leg
    return Grading(
        value=total,
        label=_label(inp.arm, inp.leg),
        reasons=reasons,
        details=details,
    )


CHANGE_FIELDS = ("arm", "leg", "previous_arm", "previous_leg")


def adjusted_changes(frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """`details["adjusted_change"]` of `calculate("incat", row)` for every row of `frame` (one
    column per field), vectorized.

    The table is validated as `calculate_frame("incat", frame)` validates it, and every row must
    give its previous scores (without them there is no change): CalculatorInputError naming the
    first offending row of each problem.
    """
    calculator = get("incat")
    c = calculator.columns(frame)
    absent = np.isnan(c["previous_arm"])  # the pairing check: then previous_leg is absent too
    if absent.any():
        row = int(np.argmax(absent))
        label = frame.index[row]
        raise CalculatorInputError(
            calculator.name,
            [
                FieldProblem(
                    name,
                    "field required (empty cell)",
                    row=int(label) if isinstance(label, int | np.integer) else row,
                )
                for name in ("previous_arm", "previous_leg")
            ],
        )
    arm, leg, previous_arm, previous_leg = (c[name].astype(np.int64) for name in CHANGE_FIELDS)
    return _adjusted_arms(arm) - _adjusted_arms(previous_arm) + (leg - previous_leg)
