"""Suite-wide test settings."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings

from neurocart.config import get_settings

# CLI tests read tables printed by rich: give its consoles (created at import) a wide terminal.
os.environ["COLUMNS"] = "200"

# Every process of the suite (servers started by tests inherit it) signs the audit log with
# one generated key, as `neurocart demo` does; a test of the key settings sets its own.
os.environ.setdefault("NEUROCART_AUDIT_KEY", f"test:{secrets.token_hex(32)}")

# Two shared cores run the suite in parallel: wall-clock deadlines would only measure load.
settings.register_profile(
    "neurocart", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("neurocart")


@pytest.fixture
def site_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], ZoneInfo]]:
    """`site_zone("Asia/Shanghai")` puts the site's clock (`NEUROCART_TIMEZONE`) on that zone
    for the rest of the test and returns it; the settings are read again before and after."""

    def use(name: str) -> ZoneInfo:
        monkeypatch.setenv("NEUROCART_TIMEZONE", name)
        get_settings.cache_clear()
        return ZoneInfo(name)

    yield use
    get_settings.cache_clear()
