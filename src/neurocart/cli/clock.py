"""What "now" is for a CLI command: the real clock, or the demo's when run on a demo record.

A demo runs on an accelerated clock and publishes it beside its database file
(`neurocart.demo.clock`); a command pointed at that file (``NEUROCART_DATABASE_URL``) then
counts study days, due and overdue tasks on the time the demo's pages show, not the wall
clock, which would disagree by hours after a few minutes of demo.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current instant (UTC) for the configured database."""
    from neurocart.cli.database import sqlite_file
    from neurocart.config import get_settings
    from neurocart.demo.clock import published_now

    path = sqlite_file(get_settings().database_url)
    demo = published_now(path) if path is not None else None
    return demo if demo is not None else datetime.now(UTC)
