"""The demo's accelerated clock: simulated time runs `speed` times faster than the wall clock.

The pages (``app.state.clock``) and the streamer read the same clock, so "study day", "12 min
ago" and the vitals arriving on the board agree with each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta


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
