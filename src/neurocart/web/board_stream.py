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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    version: int
    rows: list[Any]
    now: datetime


class BoardFeed:
    """The latest board of one app and a condition its streams wait on."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.changed = asyncio.Condition()
        self.subscribers = 0
        self.task: asyncio.Task[None] | None = None
        self.fingerprint: str | None = None

    async def watch(self, request: Request) -> None:
        from neurocart.web.pages import board_fingerprint, board_rows

        version = 0
        while self.subscribers > 0:
            try:
                current = await run_in_threadpool(board_fingerprint, request)
                if current != self.fingerprint or self.snapshot is None:
                    rows, now = await run_in_threadpool(board_rows, request)
                    version += 1
                    self.fingerprint = current
                    async with self.changed:
                        self.snapshot = Snapshot(version, rows, now)
                        self.changed.notify_all()
            except Exception:  # a transient database error: try again next round
                pass
            await asyncio.sleep(POLL_SECONDS)

    def _newer(self, version: int) -> bool:
        return self.snapshot is not None and self.snapshot.version != version

    async def updates(self, request: Request) -> AsyncIterator[Snapshot]:
        """Every new snapshot, starting with the next one."""
        self.subscribers += 1
        if self.task is None or self.task.done():
            self.fingerprint = None
            self.task = asyncio.create_task(self.watch(request))
        seen = self.snapshot.version if self.snapshot else 0
        try:
            while True:
                async with self.changed:
                    await self.changed.wait_for(lambda last=seen: self._newer(last))
                    snap = self.snapshot
                assert snap is not None
                seen = snap.version
                yield snap
        finally:
            self.subscribers -= 1
            if self.subscribers == 0 and self.task is not None:
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self.task
                self.task = None


def feed_of(app: FastAPI) -> BoardFeed:
    feed = getattr(app.state, "board_feed", None)
    if not isinstance(feed, BoardFeed):
        feed = BoardFeed()
        app.state.board_feed = feed
    return feed


def sse(event: str, html: str) -> str:
    """One server-sent event carrying `html` (each line its own data: line)."""
    data = "\n".join(f"data: {line}" for line in html.strip().splitlines() or [""])
    return f"event: {event}\n{data}\n\n"
