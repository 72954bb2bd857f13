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

from neurocart.gcpause import frozen_after

# Importing the app loads some 900 modules and builds every route, schema and table: objects
# that live as long as the process. The cyclic collector's ~370 passes meanwhile (two of them
# over the whole heap) find next to nothing to free and cost about 0.2 s of every start-up;
# frozen after the import, they are never walked again (`frozen_after`).
with frozen_after():
    from neurocart.api.app import create_app, freeze_heap_after_startup

__all__ = ["create_app", "freeze_heap_after_startup"]
