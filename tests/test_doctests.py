"""Run the examples in the package's docstrings with the suite, so they stay true.

Modules are found by reading the source tree (collection imports nothing); a module is imported
only by its own test. A module whose import needs an optional dependency that is not installed
(an extra such as omics) is skipped, naming the missing package.
"""

from __future__ import annotations

import doctest
import importlib
import io
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "neurocart"
MIGRATIONS = PACKAGE / "store" / "migrations"


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(MIGRATIONS) or ">>>" not in path.read_text(encoding="utf-8"):
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


MODULES = _modules_with_examples()


def test_examples_are_found() -> None:
    assert len(MODULES) >= 10
    assert "neurocart.standards" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] == "neurocart":
            raise
        pytest.skip(f"{name} needs {exc.name}, an optional dependency that is not installed")
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    assert sum(len(t.examples) for t in tests) > 0, f"{name}: no examples found"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    for test in tests:
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()
