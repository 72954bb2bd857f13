"""The worked examples in the omics docstrings run."""

from __future__ import annotations

import doctest

from tests.omics.conftest import needs_extra


@needs_extra
def test_qc_docstring_examples() -> None:
    from neurocart.omics import qc

    failed, attempted = doctest.testmod(qc, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failed == 0
