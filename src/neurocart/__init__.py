"""neurocart: CAR-T therapy for neurological autoimmune disease, as open software.

The patient record flows through `standards` (grade), `pathway` (schedule), `monitor`
(watch), `cohort`/`kinetics` (analyse) and `reports` (show).
"""

__version__ = "0.1.0"
