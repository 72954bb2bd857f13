"""The decision limits of the CSF indices, in a module of their own.

The calculators (`kflc_index`, `igg_index`) take them as their defaults; the chart draws them
as reference lines without importing the calculators, which need numpy (the web face is
imported at start-up, the calculators when first used).
"""

from __future__ import annotations

KFLC_INDEX_CUTOFF = 6.1
"""κFLC index above which intrathecal κ synthesis is likely (Deisenhammer F, Hegen H, et al.
eBioMedicine 2025;120:105905)."""

IGG_INDEX_ULN = 0.7
"""Upper limit of the IgG index when the laboratory gives none (Link H, Tibbling G. Scand J
Clin Lab Invest 1977;37:397–401)."""
