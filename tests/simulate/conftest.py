from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neurocart.simulate import Simulation, simulate

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def big() -> Simulation:
    """1,000 patients with 24 months of data (targets are checked on completed courses)."""
    return simulate(1000, 7, now=NOW, stages={"completed": 1.0})


@pytest.fixture(scope="session")
def mixed() -> Simulation:
    return simulate(120, 3, now=NOW, acute_now=12)
