"""Alembic migrations of the neurocart store (run through neurocart.store.migrate)."""
