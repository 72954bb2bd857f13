"""GET /api/v1/health: is the service up and its database reachable (no authentication)."""

from __future__ import annotations

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from neurocart import __version__
from neurocart.api.deps import DatabaseDep, public
from neurocart.api.errors import UnavailableError
from neurocart.api.routing import api_router
from neurocart.api.schemas import HealthOut, MonitorHealth

router = api_router(prefix="/api/v1", tags=["health"])


@router.get("/health", dependencies=[Depends(public)], responses={503: {}})
def health(request: Request, database: DatabaseDep) -> HealthOut:
    """Up, the database answering; the monitor's role in this process (leader, standby,
    off) and its state (``catching up`` while the leader reads the journal's backlog)."""
    try:
        with database.reading() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise UnavailableError("database", "the database does not answer") from None
    monitor = MonitorHealth(**request.app.state.runtime.health())
    return HealthOut(status="ok", version=__version__, database="ok", monitor=monitor)
