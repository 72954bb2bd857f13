"""Suite-wide test settings."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Two shared cores run the suite in parallel: wall-clock deadlines would only measure load.
settings.register_profile(
    "neurocart", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("neurocart")
