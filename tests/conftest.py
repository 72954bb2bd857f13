"""Suite-wide test settings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CLI tests read tables printed by rich: give its consoles (created at import) a wide terminal.
os.environ["COLUMNS"] = "200"

# Two shared cores run the suite in parallel: wall-clock deadlines would only measure load.
settings.register_profile(
    "neurocart", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("neurocart")
