"""The worked examples in the interop modules' docstrings run as doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "neurocart.interop.sdtm.days",
    "neurocart.interop.sdtm.visits",
    "neurocart.interop.sdtm.domains",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
