"""OperationOutcome: how every FHIR refusal names the element at fault (a FHIRPath)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One problem: the element (`expression`, FHIRPath), why, what came."""

    expression: str
    message: str
    got: Any = None
    code: str = "invalid"
    severity: str = "error"

    def to_fhir(self) -> dict[str, Any]:
        text = self.message if self.got is None else f"{self.message} (got {self.got!r})"
        return {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": text[:2000],
            "expression": [self.expression],
        }


class FhirError(Exception):
    """A request refused as a whole: HTTP `status` with an OperationOutcome of `issues`."""

    def __init__(self, status: int, issues: Sequence[Issue]) -> None:
        self.status = status
        self.issues = list(issues)
        super().__init__("; ".join(f"{i.expression}: {i.message}" for i in self.issues))


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource (R4) listing `issues`; "informational" when there are none."""
    listed = [i.to_fhir() for i in issues] or [
        {"severity": "information", "code": "informational", "diagnostics": "ok"}
    ]
    return {"resourceType": "OperationOutcome", "issue": listed}
