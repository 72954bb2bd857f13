"""GET /api/v1/health: is the service up and its database reachable (no authentication)."""

from __future__ import annotations

from fastapi import Depends
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from neurocart import __version__
from neurocart.api.deps import DatabaseDep, public
from neurocart.api.errors import UnavailableError
from neurocart.api.routing import api_router
from neurocart.api.schemas import HealthOut

router = api_router(prefix="/api/v1", tags=["health"])


@router.get("/health", dependencies=[Depends(public)], responses={503: {}})
def health(database: DatabaseDep) -> HealthOut:
    try:
        with database.reading() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise UnavailableError("database", "the database does not answer") from None
    return HealthOut(status="ok", version=__version__, database="ok")
