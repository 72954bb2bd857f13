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

from neurocart.demo.build import (
    DEMO_PASSWORD,
    DemoDatabase,
    NotADemoDatabaseError,
    build_demo,
    demo_usernames,
)
from neurocart.demo.clock import DemoClock
from neurocart.demo.stream import DemoStreamer, StreamStats

__all__ = [
    "DEMO_PASSWORD",
    "DemoClock",
    "DemoDatabase",
    "DemoStreamer",
    "NotADemoDatabaseError",
    "StreamStats",
    "build_demo",
    "demo_usernames",
]
