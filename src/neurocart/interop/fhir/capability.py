"""The CapabilityStatement at /fhir/metadata: exactly what this facade supports, no more."""

from __future__ import annotations

from typing import Any

from neurocart import __version__
from neurocart.interop.fhir.outbound import DEFAULT_COUNT, MAX_COUNT

WRITE_TYPES = ("Observation", "Condition", "Procedure", "MedicationAdministration", "Encounter")
READ_ONLY_TYPES = ("AdverseEvent", "Flag", "Communication")


def capability_statement(base_url: str = "/fhir") -> dict[str, Any]:
    """A CapabilityStatement (R4 4.0.1): transaction and batch, Patient/$everything, the
    resource types a Bundle may carry; every resource type is read through $everything or
    the bulk NDJSON export only (no search, no read by id)."""
    resources: list[dict[str, Any]] = [
        {
            "type": "Patient",
            "documentation": "matched by the study-ID identifier (ifNoneExist); never created",
            "operation": [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                    "documentation": f"paged: _count resources a page (default "
                    f"{DEFAULT_COUNT}, at most {MAX_COUNT}; 0 for the total only), the "
                    "next page at the Bundle's next link; start, end, _since and _type "
                    "are not supported (ignored)",
                }
            ],
        }
    ]
    for kind in WRITE_TYPES:
        resources.append(
            {
                "type": kind,
                "documentation": "in transaction or batch Bundles (POST with ifNoneExist on "
                "the identifier, PUT Type?identifier=system|value for a correction); out "
                "through Patient/$everything",
                "conditionalCreate": True,
                "conditionalUpdate": True,
            }
        )
    for kind in READ_ONLY_TYPES:
        resources.append({"type": kind, "documentation": "output only, in Patient/$everything"})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-06",
        "kind": "instance",
        "software": {"name": "neurocart", "version": __version__},
        "implementation": {"description": "neurocart FHIR facade", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer token from POST /api/v1/auth/login",
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "bearer token",
                        }
                    ],
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }
