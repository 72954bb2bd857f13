"""Wall-clock time spent inside lifelines' own fit calls (the benchmark reports the rest)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

_seconds = [0.0]


@contextmanager
def lifelines_fit() -> Iterator[None]:
    """Add the duration of the enclosed lifelines `fit` call to the running total."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _seconds[0] += time.perf_counter() - start


def lifelines_seconds() -> float:
    """Seconds spent in lifelines fits since the last reset."""
    return _seconds[0]


def reset() -> None:
    """Start the lifelines timer from zero (before a benchmark run)."""
    _seconds[0] = 0.0
