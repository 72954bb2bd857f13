"""Pause the cyclic garbage collector around bulk work that makes no reference cycles.

A cohort read builds millions of row tuples, an analysis hundreds of thousands of small
per-patient objects (series, row dicts); none of them can be part of a cycle, and reference
counting frees them all the same. Their allocation triggers collections, each of which walks
every live container: a third of the read, a tenth of the analysis, half of the simulator's
walk of the care protocol.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_cyclic_gc() -> Iterator[None]:
    """Disable the cyclic collector for the block; restore it as it was (nesting is fine).
    Cycles made meanwhile (a figure's artists) are collected after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def frozen_after() -> Iterator[None]:
    """Disable the cyclic collector for a block that builds objects meant to live as long as
    the process (importing the app: modules, classes, routes, schemas), then freeze what it
    built (`gc.freeze`): no collection ever walks those objects again.

    Collected, they would cost about 0.1 s (a full collection over some 200,000 objects) to
    free about a thousand left in cycles; left in the youngest generation, the next
    collections would walk them all again, and every full collection after. Frozen, the few
    cycles the import made stay allocated (some 100 kB), and the collections the process makes
    later walk only what it allocates from then on. Nothing is frozen when the collector was
    off."""
    was_enabled = gc.isenabled()
    with paused_cyclic_gc():
        yield
        if was_enabled:  # while still paused: enabled first, the collector would start a
            gc.freeze()  # young collection over the whole block's objects on its own
