"""Omics tests. Those needing the extra skip, saying so, when it is not installed.

`synthetic_run`: the seeded synthetic study (3 patients, half size) run once per session
through the whole pipeline, with figures and page; the tests that use it are marked slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from neurocart.omics import missing_packages

MISSING = missing_packages()
needs_extra = pytest.mark.skipif(
    bool(MISSING),
    reason=f"the omics extra is not installed (missing: {', '.join(MISSING)}); "
    "pip install 'neurocart[omics]'",
)


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if MISSING:
        pytest.skip(f"the omics extra is not installed (missing: {', '.join(MISSING)})")
    from neurocart.omics import read_samplesheet
    from neurocart.omics.run import run
    from neurocart.omics.synthetic import write_dataset

    root: Path = tmp_path_factory.mktemp("omics")
    dataset = write_dataset(root / "data", patients=3, scale=0.5, seed=3)
    steps: list[str] = []
    result = run(read_samplesheet(dataset.samplesheet), out=root / "out", progress=steps.append)
    return dataset, result, steps, root / "out"
