"""What "now" is for a CLI command: the real clock, or the demo's when run on a demo record.

A demo runs on an accelerated clock and publishes it beside its database file
(`neurocart.demo.clock`); a command pointed at that file (``NEUROCART_DATABASE_URL``) then
counts study days, due and overdue tasks on the time the demo's pages show, not the wall
clock, which would disagree by hours after a few minutes of demo.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


def now() -> datetime:
    """The current instant (UTC) for the configured database."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    from neurocart.config import get_settings
    from neurocart.demo.clock import published_now

    try:
        url = make_url(get_settings().database_url)
    except ArgumentError:
        return datetime.now(UTC)
    name = url.database
    if url.get_backend_name() == "sqlite" and name and not name.startswith(("file:", ":memory:")):
        demo = published_now(Path(name))
        if demo is not None:
            return demo
    return datetime.now(UTC)
