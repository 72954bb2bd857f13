"""Start-up: importing the API application loads no analytics library.

numpy, pandas and the statistics and plotting libraries are imported by the code that uses
them (a cohort page, a report, a calculator's vectorized path, a batch write), so a server
starts without them; benchmarks/startup.py measures the time this saves.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "lifelines", "plotly", "weasyprint")
OPTIONAL = ("sqlalchemy.dialects.postgresql", "alembic", "fhir.resources", "yaml")


def test_importing_the_app_loads_no_analytics_and_no_optional_face() -> None:
    code = (
        "import sys, neurocart.api.app\n"
        f"loaded = [m for m in {HEAVY + OPTIONAL!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
