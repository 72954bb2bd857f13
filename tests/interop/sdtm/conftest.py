"""The stored cohort these tests export (loaded once for the package)."""

from tests.interop.storedcohort import stored_cohort  # noqa: F401
