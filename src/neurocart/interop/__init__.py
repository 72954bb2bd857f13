"""Exchange with other systems: research formats (SDTM, REDCap) and clinical messaging."""
