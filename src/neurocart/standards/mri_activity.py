"""MRI activity between a scan and its comparator (MS, NMOSD follow-up).

Activity = gadolinium-enhancing T1 lesions or unequivocally new or enlarging T2 lesions
(CMSC consensus, PMC3882992); protocol: Wattjes MP, et al. 2021 MAGNIMS–CMSC–NAIMS consensus
recommendations on the use of MRI in patients with multiple sclerosis. Lancet Neurol
2021;20:653–70 (3D T2-FLAIR, ≥ 1.5 T, serial comparison). NEDA-4 adds annualised brain-volume
loss ≤ 0.4 % — Guevara C, et al. Front Neurol 2019 (doi:10.3389/fneur.2019.00788). Re-baseline
3–6 months after a therapy starts — Arnold DL, et al. MSJ ETC 2015
(doi:10.1177/2055217315589775): lesions on the first scan after CAR-T compared with a
pre-treatment scan may predate the effect, and are reported as they are.

value: `active` when new + enlarging T2 ≥ 1 or Gd-enhancing ≥ 1 (enhancement needs no
comparator); `inactive` with a comparator, no new or enlarging T2 and no (or no given)
enhancing lesion; `not_evaluable` without a comparator and without an enhancing lesion.
What "enlarging" means differs between trials: the reader's count is used as reported.

Errors: a comparator on or after the scan; new/enlarging counts without a comparator (even
0: a count against nothing is not a count); a comparator without both counts. Warnings: field
strength below 1.5 T, or different from the comparator's. Extras: `t2_active_lesions`,
`pbvc_percent` (given, else 100·(v − v₀)/v₀ from the two brain volumes),
`annualized_pbvc_percent` = PBVC × 365.25/days, `neda4_volume_loss` = annualised loss > 0.4 %.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

from pydantic import field_validator

from neurocart.standards.inputs import CalcInput, Check, Columns, field
from neurocart.standards.reason import Reason
from neurocart.standards.registry import Grading, register

CITATION = (
    "Wattjes MP, et al. 2021 MAGNIMS–CMSC–NAIMS consensus recommendations on the use of MRI in "
    "MS. Lancet Neurol 2021;20:653–70; Guevara C, et al. Front Neurol 2019, "
    "doi:10.3389/fneur.2019.00788 (NEDA-4)"
)
NEDA4_LOSS_PERCENT = 0.4
MIN_FIELD_T = 1.5

Activity = Literal["active", "inactive", "not_evaluable"]


def _count(description: str) -> Any:
    return field(None, description=description, ge=0, le=1000)


class MriActivityInput(CalcInput):
    """The inputs of the MRI activity reading: this scan's lesion counts and volume change against a
    comparator.
    """

    scan_date: date = field(description="date of this scan (ISO, e.g. 2025-07-10)")
    comparator_date: date | None = field(None, description="date of the comparator scan")
    new_t2_lesions: int | None = _count("new T2 lesions against the comparator")
    enlarging_t2_lesions: int | None = _count("enlarging T2 lesions against the comparator")
    gd_enhancing_lesions: int | None = _count("Gd-enhancing T1 lesions (omit without contrast)")
    field_strength_t: float | None = field(None, description="field strength", unit="T", gt=0,
                                           le=12)  # fmt: skip
    comparator_field_strength_t: float | None = field(
        None, description="field strength of the comparator", unit="T", gt=0, le=12
    )
    pbvc_percent: float | None = field(
        None, description="percentage brain volume change (software, e.g. SIENA)", unit="%",
        ge=-50, le=50,
    )  # fmt: skip
    brain_volume_ml: float | None = field(None, description="brain volume", unit="mL", gt=0,
                                          le=3000)  # fmt: skip
    comparator_brain_volume_ml: float | None = field(
        None, description="brain volume on the comparator", unit="mL", gt=0, le=3000
    )

    @field_validator("scan_date", "comparator_date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        """Dates come as ISO strings from JSON and forms; a datetime is not a date."""
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(NOT_A_DATE()) from None
        return value


def _get(c: Columns, name: str) -> Any:
    """One input's value from its 0-d column (None when absent)."""
    x = c[name].item() if hasattr(c[name], "item") else c[name]
    return None if isinstance(x, float) and math.isnan(x) else x


def _comparator_not_before(c: Columns) -> bool:
    comparator, scan = _get(c, "comparator_date"), _get(c, "scan_date")
    return comparator is not None and comparator >= scan


def _needs_comparator(name: str) -> Check:
    return Check(
        name,
        "needs a comparator scan (comparator_date): a count against nothing is not a count",
        lambda c: _get(c, "comparator_date") is None and _get(c, name) is not None,
    )


def _required_with_comparator(name: str) -> Check:
    return Check(
        name,
        "required when a comparator scan is given",
        lambda c: _get(c, "comparator_date") is not None and _get(c, name) is None,
    )


CHECKS = (
    Check("comparator_date", "must be before scan_date", _comparator_not_before),
    _needs_comparator("new_t2_lesions"),
    _needs_comparator("enlarging_t2_lesions"),
    _needs_comparator("comparator_field_strength_t"),
    _needs_comparator("comparator_brain_volume_ml"),
    _required_with_comparator("new_t2_lesions"),
    _required_with_comparator("enlarging_t2_lesions"),
    Check(
        "brain_volume_ml",
        "give both brain volumes (this scan and comparator_brain_volume_ml) or neither",
        lambda c: (
            (_get(c, "brain_volume_ml") is None) != (_get(c, "comparator_brain_volume_ml") is None)
        ),
    ),
)


def activity(inp: MriActivityInput) -> Activity:
    """The rule itself, on a validated input."""
    t2 = (inp.new_t2_lesions or 0) + (inp.enlarging_t2_lesions or 0)
    gd = inp.gd_enhancing_lesions or 0
    if t2 >= 1 or gd >= 1:
        return "active"
    if inp.comparator_date is not None:
        return "inactive"
    return "not_evaluable"


LABELS = {
    "active": "MRI activity",
    "inactive": "no MRI activity",
    "not_evaluable": "not evaluable (no comparator, no enhancement)",
}
WORDS = (*LABELS, *LABELS.values(), "not evaluable")
"""Its values and labels (the catalogues list them: `locale/sources.toml`)."""
_NUMBERS = ("days", "new", "enlarging", "n", "v", "v0", "pbvc", "annual")
AGAINST = Reason(
    "against the scan of {date} ({days} days): {new} new and {enlarging} enlarging T2 lesion(s)",
    numbers=_NUMBERS,
)
NOT_A_DATE = Reason("expected an ISO date (YYYY-MM-DD)")
NO_COMPARATOR = Reason("no comparator scan: new or enlarging T2 lesions cannot be counted")
NO_CONTRAST = Reason("no contrast (Gd-enhancing lesions not assessed)")
ENHANCING = Reason("{n} Gd-enhancing lesion(s)", numbers=_NUMBERS)
VERDICT = Reason("{value}: {label}", patterns={"value": "active|inactive|not_evaluable"})
PBVC = Reason("PBVC = 100 × ({v} − {v0}) / {v0} = {pbvc} %", numbers=_NUMBERS)
ANNUAL = Reason("annualised PBVC {annual} %/year", numbers=_NUMBERS)
ANNUAL_LOSS = Reason(
    "annualised PBVC {annual} %/year: loss > 0.4 %/year (fails NEDA-4)", numbers=_NUMBERS
)
LOW_FIELD = Reason("{t} T < 1.5 T: not recommended for monitoring", numbers=("t",))
FIELDS_DIFFER = Reason(
    "field strength {t} T differs from the comparator's {t0} T: lesion counts are less comparable",
    numbers=("t", "t0"),
)


def _mri_activity(inp: MriActivityInput) -> Grading:
    value = activity(inp)
    reasons: list[str] = []
    details: dict[str, Any] = {}
    if inp.comparator_date is not None:
        days = (inp.scan_date - inp.comparator_date).days
        t2 = (inp.new_t2_lesions or 0) + (inp.enlarging_t2_lesions or 0)
        details["t2_active_lesions"] = t2
        reasons.append(
            AGAINST(
                date=inp.comparator_date.isoformat(), days=days, new=inp.new_t2_lesions,
                enlarging=inp.enlarging_t2_lesions,
            )
        )  # fmt: skip
    else:
        days = None
        details["t2_active_lesions"] = None
        reasons.append(NO_COMPARATOR())
    if inp.gd_enhancing_lesions is None:
        reasons.append(NO_CONTRAST())
    else:
        reasons.append(ENHANCING(n=inp.gd_enhancing_lesions))
    reasons.append(VERDICT(value=value, label=LABELS[value]))
    warnings: list[str] = []
    if inp.field_strength_t is not None and inp.field_strength_t < MIN_FIELD_T:
        warnings.append(LOW_FIELD(t=f"{inp.field_strength_t:g}"))
    if (
        inp.field_strength_t is not None
        and inp.comparator_field_strength_t is not None
        and inp.field_strength_t != inp.comparator_field_strength_t
    ):
        warnings.append(
            FIELDS_DIFFER(t=f"{inp.field_strength_t:g}", t0=f"{inp.comparator_field_strength_t:g}")
        )
    pbvc = inp.pbvc_percent
    if pbvc is None and inp.brain_volume_ml is not None and inp.comparator_brain_volume_ml:
        v, v0 = inp.brain_volume_ml, inp.comparator_brain_volume_ml
        pbvc = round(100.0 * (v - v0) / v0, 6)
        reasons.append(PBVC(v=f"{v:g}", v0=f"{v0:g}", pbvc=f"{pbvc:g}"))
    details["pbvc_percent"] = pbvc
    if pbvc is not None and days:
        annual = round(pbvc * 365.25 / days, 6)
        details["annualized_pbvc_percent"] = annual
        details["neda4_volume_loss"] = -annual > NEDA4_LOSS_PERCENT
        reasons.append(
            (ANNUAL_LOSS if -annual > NEDA4_LOSS_PERCENT else ANNUAL)(annual=f"{annual:g}")
        )
    else:
        details["annualized_pbvc_percent"] = None
        details["neda4_volume_loss"] = None
    return Grading(value=value, label=LABELS[value], reasons=reasons, warnings=warnings,
                   details=details)  # fmt: skip


@register(
    name="mri_activity",
    title="MRI activity (new/enlarging T2, Gd-enhancing lesions) against a comparator",
    citation=CITATION,
    input_model=MriActivityInput,
    checks=CHECKS,
)
def mri_activity(inp: MriActivityInput) -> Grading:
    """active / inactive / not_evaluable; see the module docstring."""
    return _mri_activity(inp)
