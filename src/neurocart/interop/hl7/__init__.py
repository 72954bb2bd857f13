"""HL7 v2.5.1 feeds: ORU^R01 results and ADT stays over MLLP or from a file, ACK AA/AE/AR."""
