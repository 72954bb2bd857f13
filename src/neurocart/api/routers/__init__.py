"""One router per resource; each only translates HTTP to store and service calls."""

from __future__ import annotations

from neurocart.api.routers import (
    alerts,
    assessments,
    audit,
    auth,
    calculators,
    courses,
    events,
    feeds,
    fhir,
    health,
    observations,
    patients,
    schedule,
    studies,
    users,
)

ALL = (
    health.router,
    auth.router,
    users.router,
    patients.router,
    courses.router,
    observations.router,
    assessments.router,
    events.router,
    schedule.router,
    calculators.router,
    alerts.router,
    audit.router,
    fhir.router,
    feeds.router,
    studies.router,
)
"""Every router, in the order the OpenAPI document lists them."""
