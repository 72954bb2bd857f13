"""`neurocart demo`: a synthetic ward one can watch, built and served in one command.

    built = build_demo(Path("demo.db"))            # fresh SQLite file, users, ~40 patients
    clock = DemoClock(built.sim.now, speed=60)      # simulated seconds per real second
    DemoStreamer(url, built.sim, clock).run(stop)   # new vitals and facts, through the HTTP API

`build` makes the database (refusing to overwrite anything but an earlier demo), `clock` is
the accelerated clock the pages and the streamer share, `stream` posts what the clock passes
through the REST API with the demo users' tokens — so the monitoring that runs for real data
runs for these, and alerts appear on the board while one watches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurocart.lazy import lazy_getattr

if TYPE_CHECKING:
    from neurocart.demo.build import (
        DemoDatabase,
        NotADemoDatabaseError,
        build_demo,
        demo_usernames,
    )
    from neurocart.demo.clock import DemoClock
    from neurocart.demo.stream import DemoStreamer, StreamStats

DEMO_PASSWORD = "neurocart-demo"
"""The password of every demo user. Demo only: never use these accounts for real data."""
DEFAULT_SEED = 55
"""With this seed the acute ward is lively whatever the hour: several patients in grade 1–2
CRS at the start and another one's onset within the first simulated hours."""

_EXPORTS = {
    "DemoDatabase": "neurocart.demo.build",
    "NotADemoDatabaseError": "neurocart.demo.build",
    "build_demo": "neurocart.demo.build",
    "demo_usernames": "neurocart.demo.build",
    "DemoClock": "neurocart.demo.clock",
    "DemoStreamer": "neurocart.demo.stream",
    "StreamStats": "neurocart.demo.stream",
}
"""Imported on first use: building a ward simulates it (pandas), which `neurocart serve`,
started through the same command line, never needs."""

__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())

__all__ = [
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DemoClock",
    "DemoDatabase",
    "DemoStreamer",
    "NotADemoDatabaseError",
    "StreamStats",
    "build_demo",
    "demo_usernames",
]
