"""FHIR R4 in and out: transaction/batch Bundles, $everything, bulk NDJSON, metadata."""
