"""All runtime settings in one pydantic-settings object, read from NEUROCART_* variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_KEY_BYTES = 32
"""Shortest `secret_key` (UTF-8 bytes) `serve` accepts outside demo mode: 256 bits of HMAC key."""


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
    token_ttl_minutes: int = Field(
        default=12 * 60, ge=1, description="absolute lifetime of a session (token or cookie)"
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, description="a session unused this long ends (log in again)"
    )
    demo_mode: bool = Field(
        default=False,
        description="let `serve` start with the published or a short secret_key (demos only)",
    )
    password_min_length: int = Field(
        default=12, ge=8, le=1024, description="shortest password accepted on create or change"
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="wrong passwords for one username before it is locked out"
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="wrong passwords from one client address before it is locked"
    )
    login_window_seconds: int = Field(
        default=15 * 60,
        ge=1,
        description="failures are counted over this window; a lockout lasts until they age out",
    )
    idempotency_ttl_hours: float = Field(
        default=24.0, gt=0, description="how long the first answer to an Idempotency-Key is kept"
    )
    max_batch_observations: int = Field(default=10_000, ge=1, le=100_000)
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
