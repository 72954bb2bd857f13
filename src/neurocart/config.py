"""All runtime settings in one pydantic-settings object, read from NEUROCART_* variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
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
    timezone: str = Field(
        default="UTC",
        description=(
            "the center's IANA time zone (Asia/Shanghai, Europe/Berlin): times are shown and "
            "entered on this clock, the study day is its calendar day, HL7 times without an "
            "offset are read on it (the feeds read the same NEUROCART_TIMEZONE); instants "
            "stay UTC"
        ),
    )
    default_locale: str = Field(
        default="en",
        description="language when neither the user nor the browser names one: en or zh_CN",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from neurocart.i18n import zone_of

        zone_of(value)  # ValueError naming the zone
        return value

    @field_validator("default_locale")
    @classmethod
    def _shipped_locale(cls, value: str) -> str:
        from neurocart.i18n import LOCALES, normalize

        chosen = normalize(value)
        if chosen is None:
            raise ValueError(f"unsupported language {value!r}; one of {', '.join(LOCALES)}")
        return chosen

    audit_keyring: Path | None = Field(
        default=None,
        description=(
            "file of '<key id>:<hex secret>' lines, oldest first, that sign the audit log "
            "(the last line signs new entries; keep it outside the database, see docs/audit.md)"
        ),
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="'<key id>:<hex secret>': the audit signing key (overrides the keyring's)",
    )
    audit_checkpoint_dir: Path | None = Field(
        default=None,
        description=(
            "directory of the append-only files of signed audit chain heads (outside the "
            "database; `neurocart audit verify` compares the store with the latest)"
        ),
    )
    audit_checkpoint_seconds: float = Field(
        default=60.0, gt=0, description="how often the monitor leader checkpoints the chain head"
    )
    audit_unkeyed_prefix: bool = Field(
        default=False,
        description=(
            "accept unkeyed (plain SHA-256) entries before the first keyed one: only for a "
            "database whose log began before keyed entries (see docs/audit.md)"
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests override by clearing this cache or passing their own)."""
    return Settings()
