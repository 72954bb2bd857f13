"""The REST API: a thin HTTP face over the store and services (FastAPI).

    from neurocart.api import create_app
    app = create_app()                       # Settings from NEUROCART_* variables
    # uvicorn.run(app)  or  `neurocart serve`

Every route but health and login needs `Authorization: Bearer <token>` (POST
/api/v1/auth/login) and declares the permission it needs (`deps.require`); every bad input is
a 4xx with the body ``{"detail": [{"field": ..., "message": ..., "got": ...}]}``
(see `errors`). OpenAPI at /openapi.json, interactive docs at /docs.
"""

from __future__ import annotations

from neurocart.api.app import create_app, freeze_heap_after_startup

__all__ = ["create_app", "freeze_heap_after_startup"]
