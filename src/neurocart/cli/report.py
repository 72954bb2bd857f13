"""`neurocart report`: the cohort report (HTML with embedded figures, PDF, CSV tables)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from neurocart.cli.console import fail, out


def report(
    out_dir: Annotated[Path, typer.Option("--out", help="directory to write the report into")],
    cutoff: Annotated[
        str | None,
        typer.Option("--cutoff", help="data cut-off date YYYY-MM-DD (default: today, UTC)"),
    ] = None,
    simulate: Annotated[
        int | None,
        typer.Option("--simulate", help="analyse a simulated cohort of N patients instead"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the simulated cohort")] = 1,
    definition: Annotated[
        str | None, typer.Option("--definition", help="cohort definition printed in the report")
    ] = None,
) -> None:
    """Write report.html, report.pdf, tables/*.csv and figures/*.png into --out."""
    try:
        cut = date.fromisoformat(cutoff) if cutoff else datetime.now(UTC).date()
    except ValueError:
        raise fail(f"--cutoff: expected a date YYYY-MM-DD, got {cutoff!r}") from None
    if simulate is None:
        raise fail(
            "the store export is not available yet: pass --simulate N (and --seed S) to "
            "report on a simulated cohort"
        )
    if simulate < 1:
        raise fail(f"--simulate: expected at least 1 patient, got {simulate}")
    from neurocart.reports import build_report
    from neurocart.simulate import simulate_cohort

    now = datetime(cut.year, cut.month, cut.day, 23, 59, 59, tzinfo=UTC)
    frames = simulate_cohort(simulate, seed, now=now)
    text = definition or (
        f"Simulated cohort (neurocart simulator): {simulate} patients enrolled, seed {seed}; "
        "all patients infused with BCMA CAR-T by the cut-off."
    )
    files = build_report(frames, out_dir, cutoff=cut, cohort_definition=text)
    out.print(f"wrote {files.html}, {files.pdf} and {len(files.csv)} CSV tables")
