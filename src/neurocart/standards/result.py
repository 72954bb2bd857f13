"""The answer every calculator gives: the value, and why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Result(BaseModel):
    """A graded or scored result that explains itself.

    `value` is the grade or score; `label` a short clinical text ("grade 2");
    `reasons` the criteria that fired, in a clinician's words; `citation` the source;
    `warnings` what a clinician should double-check (inconsistent inputs, an extension
    that is not part of the published standard). `details` carries calculator-specific
    structured extras (e.g. the unadjusted ASTCT grade, or a list of confirmed events).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    calculator: str
    value: int | float | str | None
    label: str
    reasons: list[str] = Field(default_factory=list)
    citation: str
    warnings: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def number(self) -> float:
        """The value of a numeric calculator as a float (grades, scores, indices).

        Some calculators answer with a category ("active") or with nothing (no confirmed
        change: None); asking those for a number is a programming error, not a clinical one.
        """
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise TypeError(f"calculator {self.calculator!r} has no numeric value: {self.value!r}")
        return float(self.value)

    @property
    def extras(self) -> dict[str, Any]:
        """`details` under the name the biomarker calculators' contract uses."""
        return self.details
