"""Data in and out in the hospital's standards: FHIR R4, HL7 v2, CDISC SDTM, REDCap."""
