"""The demo's accelerated clock: simulated time runs `speed` times faster than the wall clock.

The pages (``app.state.clock``) and the streamer read the same clock, so "study day", "12 min
ago" and the vitals arriving on the board agree with each other. The demo also publishes it
beside its database (`DemoClock.publish`), and the CLI reads it there (`published_now`), so a
command run against the demo record counts on the same time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path


class DemoClock:
    """Simulated UTC time: `start` at creation, advancing `speed` simulated s per real s."""

    def __init__(
        self,
        start: datetime,
        speed: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start: must be timezone-aware (UTC)")
        if not speed > 0:
            raise ValueError(f"speed: must be positive, got {speed}")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._origin) * self.speed)

    __call__ = now

    def real_seconds_until(self, at: datetime) -> float:
        """Wall-clock seconds until the simulated instant `at` (0 if it has passed)."""
        return max(0.0, (at - self.now()).total_seconds() / self.speed)

    # --- shared with the CLI ------------------------------------------------------------------

    def publish(self, database: Path) -> Path:
        """Write this clock beside the demo database (``demo.db.clock.json``) so that the CLI
        run against the same file (`neurocart schedule show`, `patient list`, `report`) counts
        study days and due tasks on the same simulated time as the pages."""
        path = clock_file(database)
        wall_origin = time.time() - (self._monotonic() - self._origin)
        record = {"start": self.start.isoformat(), "speed": self.speed, "wall_origin": wall_origin}
        path.write_text(json.dumps(record))
        return path

    def stop(self, database: Path) -> None:
        """The demo stopped: freeze the published clock where the simulation stood."""
        path = clock_file(database)
        if path.exists():
            record = json.loads(path.read_text()) | {"stopped_at": self.now().isoformat()}
            path.write_text(json.dumps(record))


def clock_file(database: Path) -> Path:
    """Where a demo publishes its clock for `database`."""
    return database.with_name(database.name + ".clock.json")


def published_now(database: Path) -> datetime | None:
    """The simulated now of the demo that ran (or runs) on `database`; None without a demo
    clock beside it, or when the record there is unreadable (then the real clock counts)."""
    path = clock_file(database)
    try:
        record = json.loads(path.read_text())
        if record.get("stopped_at"):
            return datetime.fromisoformat(record["stopped_at"])
        start = datetime.fromisoformat(record["start"])
        elapsed = max(0.0, time.time() - float(record["wall_origin"]))
        return start + timedelta(seconds=elapsed * float(record["speed"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
