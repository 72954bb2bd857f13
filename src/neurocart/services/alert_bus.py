"""In-process publish/subscribe of alert actions, for the SSE streams.

The monitoring service publishes from a worker thread after the transaction committed; each
subscriber owns an asyncio queue on its own event loop (`call_soon_threadsafe`), so a slow
client never blocks a request. A subscriber may filter by discipline: it then receives the
actions that page that discipline (an escalation's tier included).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

QUEUE_LIMIT = 1000
"""Per-subscriber backlog; beyond it the oldest actions are dropped (the client re-reads
GET /api/v1/alerts after a gap — `dropped` counts them)."""


@dataclass(eq=False)
class Subscription:
    """One live subscriber (an SSE stream): its event loop, its discipline filter, its queue."""

    loop: asyncio.AbstractEventLoop
    discipline: str | None
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )
    dropped: int = 0

    def wants(self, action: Mapping[str, Any]) -> bool:
        return self.discipline is None or self.discipline in action.get("disciplines", ())

    def _put(self, item: dict[str, Any] | None) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)


class AlertBus:
    """Subscribers and a version counter that changes with every published batch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self._version = 0

    @property
    def version(self) -> int:
        return self._version

    def subscribe(self, discipline: str | None = None) -> Subscription:
        """Call from the event loop that will read the queue."""
        sub = Subscription(asyncio.get_running_loop(), discipline)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def publish(self, actions: Iterable[dict[str, Any]]) -> None:
        """Hand `actions` (AlertAction dicts) to every interested subscriber; thread-safe."""
        items = list(actions)
        with self._lock:
            self._version += 1
            subscribers = list(self._subscribers)
        for sub in subscribers:
            wanted = [a for a in items if sub.wants(a)]
            if wanted:
                self._deliver(sub, wanted)

    def close(self) -> None:
        """Wake every subscriber with the end marker (None), e.g. at shutdown."""
        with self._lock:
            subscribers = list(self._subscribers)
            self._subscribers.clear()
        for sub in subscribers:
            self._deliver(sub, [None])

    @staticmethod
    def _deliver(sub: Subscription, items: Sequence[dict[str, Any] | None]) -> None:
        def put() -> None:
            for item in items:
                sub._put(item)

        with contextlib.suppress(RuntimeError):  # a closed loop: the subscriber is gone
            sub.loop.call_soon_threadsafe(put)
