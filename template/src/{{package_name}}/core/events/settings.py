"""How the event bus retries, polls and batches; read from `EVENT_*` variables (and `.env`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventSettings(BaseSettings):
    """Delivery tuning of the event bus. The defaults suit most services."""

    model_config = SettingsConfigDict(
        env_prefix="EVENT_", env_file=".env", extra="ignore", case_sensitive=False
    )

    # Attempts per event, the first included; then the event is marked failed with the reason.
    max_attempts: int = Field(default=5, ge=1)
    # Wait before attempt n+1: base * 2**(n-1), capped.
    retry_base_delay_s: float = Field(default=2.0, ge=0)
    retry_max_delay_s: float = Field(default=300.0, ge=0)
    # Pending events are also looked for this often (events published by other instances,
    # or by a process that stopped before delivering them).
    poll_interval_s: float = Field(default=2.0, gt=0)
    # Events claimed and delivered together (concurrently) by one dispatcher.
    batch_size: int = Field(default=10, ge=1)
    # A claimed event is left alone by other dispatchers this long; must exceed the handler
    # timeout, or a slow handler could be run twice at the same time.
    lease_s: float = Field(default=120.0, gt=0)
    handler_timeout_s: float = Field(default=60.0, gt=0)
    # Events published with `emit_soon` (hot paths) are written together this often, and at
    # most this many wait in memory while the database is away.
    emit_interval_ms: int = Field(default=100, ge=1)
    emit_buffer_size: int = Field(default=10_000, ge=1)
    # On shutdown, deliveries in progress get this long to finish (the rest are retried later).
    shutdown_timeout_s: float = Field(default=5.0, ge=0)
