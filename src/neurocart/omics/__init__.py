"""Single-cell CSF, blood and infusion-product analysis: are CAR-T cells in the CSF, are the
B and plasma cells gone, did clones expand and spread between compartments.

An optional extra (``pip install neurocart[omics]``: scanpy, anndata, mudata, scirpy). This
package imports none of them at import time — only the modules that need them do, when they
are first used — so the rest of neurocart never pays scanpy's import cost. The scanpy way is
kept: one AnnData flows through thin wrappers that change it *in place*:

    from neurocart import omics
    sheet = omics.read_samplesheet("samples.csv")
    result = omics.run(sheet, out="results/")          # read → QC → ... → readouts
    result.readouts                                    # one row per sample

The steps are also callable one by one (`neurocart.omics.pipeline`), and the readouts are
plain numbers (`neurocart.omics.readouts`) that `neurocart.services.omics_readouts` stores
as observations on the patient's record.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from neurocart.lazy import lazy_getattr
from neurocart.omics.errors import OmicsInputError, OmicsUnavailableError

if TYPE_CHECKING:
    from neurocart.omics.run import RunResult
    from neurocart.omics.samplesheet import Sample, SampleSheet, Tissue, read_samplesheet

_EXPORTS = dict.fromkeys(
    ("Sample", "SampleSheet", "Tissue", "read_samplesheet"), "neurocart.omics.samplesheet"
)
"""Imported on first use: the sample sheet reads with pandas, which a process that never
reads one (the server, started through the same command line) should not load."""

__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())

EXTRA_PACKAGES = ("scanpy", "anndata", "mudata", "scirpy")


def missing_packages() -> list[str]:
    """The packages of the `omics` extra that are not installed (empty when all are)."""
    return [name for name in EXTRA_PACKAGES if importlib.util.find_spec(name) is None]


def require() -> None:
    """Raise OmicsUnavailableError naming what to install when the extra is absent."""
    missing = missing_packages()
    if missing:
        raise OmicsUnavailableError(missing)


def run(sheet: SampleSheet, **options: Any) -> RunResult:
    """`neurocart.omics.run.run` (imports scanpy on first call)."""
    require()
    from neurocart.omics.run import run as _run

    return _run(sheet, **options)


__all__ = [
    "EXTRA_PACKAGES",
    "OmicsInputError",
    "OmicsUnavailableError",
    "Sample",
    "SampleSheet",
    "Tissue",
    "missing_packages",
    "read_samplesheet",
    "require",
    "run",
]
