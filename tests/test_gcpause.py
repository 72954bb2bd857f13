"""`gcpause.paused_cyclic_gc` restores the collector as it found it, also on an error."""

from __future__ import annotations

import gc

import pytest

from neurocart.gcpause import paused_cyclic_gc


def test_the_collector_is_paused_and_restored() -> None:
    assert gc.isenabled()
    with paused_cyclic_gc():
        assert not gc.isenabled()
        with paused_cyclic_gc():  # nested: the outer pause holds
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_restores_it_and_a_disabled_one_stays_disabled() -> None:
    with pytest.raises(RuntimeError), paused_cyclic_gc():
        raise RuntimeError("in the block")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_cyclic_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
