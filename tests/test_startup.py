"""Start-up: importing the API application, or the command line, loads no analytics library.

numpy, pandas and the statistics and plotting libraries are imported by the code that uses
them (a cohort page, a report, a calculator's vectorized path, a batch write), so a server
starts without them; benchmarks/startup.py measures the time this saves.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "lifelines", "plotly", "weasyprint")
OPTIONAL = ("sqlalchemy.dialects.postgresql", "alembic", "fhir.resources", "yaml", "sse_starlette")
"""Loaded by what needs them: a PostgreSQL engine, a migration, a FHIR bundle, an alert
stream."""


def _loads_none_of(module: str, unwanted: tuple[str, ...]) -> None:
    code = (
        f"import sys, {module}\n"
        f"loaded = [m for m in {unwanted!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_the_app_loads_no_analytics_and_no_optional_face() -> None:
    _loads_none_of("neurocart.api.app", HEAVY + OPTIONAL)


def test_the_command_line_loads_neither_alembic_nor_the_hl7_listener() -> None:
    """`neurocart serve` imports the whole command line first."""
    _loads_none_of("neurocart.cli", (*HEAVY, *OPTIONAL, "hl7"))


def test_what_the_import_built_is_frozen_and_the_collector_back_on() -> None:
    code = (
        "import gc, neurocart.api\n"
        "assert gc.isenabled()\n"
        "assert gc.get_freeze_count() > 50_000, gc.get_freeze_count()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
