"""All runtime settings in one pydantic-settings object, read from NEUROCART_* variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as NEUROCART_<FIELD> in the environment."""

    model_config = SettingsConfigDict(env_prefix="NEUROCART_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{Path('neurocart.db').resolve()}",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://... for a team",
    )
    secret_key: str = Field(
        default="change-me-in-production",
        description="key that signs API tokens; set a long random value in production",
    )
    token_ttl_minutes: int = Field(default=12 * 60, ge=1, description="API token lifetime")
    max_batch_observations: int = Field(default=10_000, ge=1, le=100_000)
    max_future_minutes: int = Field(
        default=10,
        ge=0,
        le=7 * 24 * 60,
        description="how far past the server's clock a clinical fact's time may lie",
    )
    max_body_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="largest request body, counted as it arrives (chunked bodies included)",
    )
    monitoring: bool = Field(
        default=True, description="run the rapid-response engine on every stored fact"
    )
    monitor_tick_seconds: float = Field(
        default=30.0, gt=0, description="how often escalations and overdue tasks are checked"
    )
    monitor_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="longest the monitor waits before looking for new facts without a wake-up",
    )
    notify: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "who is reached outside the browser (neurocart.services.notify): discipline, or "
            "discipline@tier, or * → apprise URLs (mailto://, json://, wecombot://, "
            "dingtalk://, feishu://); JSON in NEUROCART_NOTIFY"
        ),
    )
    notify_severities: list[str] = Field(
        default_factory=lambda: ["critical"],
        description="severities whose new alerts are sent; every escalation is sent",
    )
    notify_retries: int = Field(default=3, ge=0, le=10, description="retries per delivery")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests override by clearing this cache or passing their own)."""
    return Settings()
