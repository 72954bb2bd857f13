"""Settings of the hospital feeds (FHIR, HL7 v2), read from NEUROCART_* variables.

Separate from `neurocart.config.Settings` so the feeds' knobs stay beside the feeds.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FeedSettings(BaseSettings):
    """What a deployment sets for its feeds; every field is NEUROCART_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="NEUROCART_", extra="ignore")

    ingest_salt: str = Field(
        default="neurocart-development-salt",
        description="site secret mixed into every hashed external key (set one per site)",
    )
    deployment: str = Field(default="dev", description="name in output identifiers")
    fhir_study_id_system: str = Field(
        default="urn:neurocart:study-id", description="the FHIR identifier system of study IDs"
    )
    hl7_study_id_authority: str = Field(
        default="NEUROCART", description="PID-3 CX.4 that marks a study ID (with CX.5 = PI)"
    )
    timezone: str = Field(
        default="UTC", description="site time zone (IANA) for HL7 times without an offset"
    )


@lru_cache(maxsize=1)
def get_feed_settings() -> FeedSettings:
    """The deployment's feed settings, read from the NEUROCART_* environment variables."""
    return FeedSettings()
