"""The board's live updates: one watcher per process, per-card events to every open board.

One background task per app (started with the first open board, stopped with the last)
checks a cheap fingerprint of the record every `POLL_SECONDS` — the highest fact ids and the
alert provider's version, a handful of index lookups — and only when it changed reads the
board once (`acute_board`) for every subscriber. Each open board's stream then renders the
cards with its own user's permissions and sends only the cards whose HTML changed, as
``event: card-<study id>`` carrying the card (htmx swaps that card alone); when patients come,
go or change order it sends ``event: board`` and the page re-fetches the panel. No board
polls the database on its own, and nothing is redrawn that did not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    """One version of the board's rows; the fingerprint tells streams whether anything changed."""

    version: int
    fingerprint: str
    rows: list[Any]
    now: datetime


class BoardFeed:
    """The latest board of one app and a condition its streams wait on."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.changed = asyncio.Condition()
        self.subscribers = 0
        self.task: asyncio.Task[None] | None = None

    async def watch(self, request: Request) -> None:
        from neurocart.web.pages import board_fingerprint, board_rows

        version = 0
        last: str | None = None
        while self.subscribers > 0:
            try:
                current = await run_in_threadpool(board_fingerprint, request)
                if current != last:
                    rows, now = await run_in_threadpool(board_rows, request)
                    version, last = version + 1, current
                    async with self.changed:
                        self.snapshot = Snapshot(version, current, rows, now)
                        self.changed.notify_all()
            except Exception:  # a transient database error: try again next round
                log.exception("board watcher: reading the board failed; retrying")
            await asyncio.sleep(POLL_SECONDS)

    def subscribe(self, request: Request) -> None:
        self.subscribers += 1
        if self.task is None or self.task.done():
            self.snapshot = None
            self.task = asyncio.create_task(self.watch(request))

    async def unsubscribe(self) -> None:
        self.subscribers -= 1
        if self.subscribers <= 0 and self.task is not None:
            self.subscribers = 0
            task, self.task = self.task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _newer(self, version: int) -> bool:
        return self.snapshot is not None and self.snapshot.version != version

    async def next(self, seen: int, timeout: float) -> Snapshot | None:
        """The first snapshot other than version `seen`, or None after `timeout` seconds."""
        try:
            async with self.changed:
                await asyncio.wait_for(self.changed.wait_for(lambda: self._newer(seen)), timeout)
                return self.snapshot
        except TimeoutError:
            return None


def feed_of(app: FastAPI) -> BoardFeed:
    """The app's board feed, created on first use so every stream shares one."""
    feed = getattr(app.state, "board_feed", None)
    if not isinstance(feed, BoardFeed):
        feed = BoardFeed()
        app.state.board_feed = feed
    return feed


def sse(event: str, html: str) -> str:
    """One server-sent event carrying `html` (each line its own data: line)."""
    data = "\n".join(f"data: {line}" for line in html.strip().splitlines() or [""])
    return f"event: {event}\n{data}\n\n"
