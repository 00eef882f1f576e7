"""Settings of the request recorder, from `REQUEST_LOG_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RecorderSettings(BaseSettings):
    """How the request log is buffered and written. Defaults suit one API process."""

    model_config = SettingsConfigDict(
        env_prefix="REQUEST_LOG_", env_file=".env", extra="ignore", case_sensitive=False
    )

    # A batch is written when this much time has passed or `batch_size` records wait.
    flush_interval_ms: int = Field(default=1000, ge=10, le=60_000)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    # Records held in memory while the database is slow or down; beyond it, spill to disk.
    buffer_size: int = Field(default=20_000, ge=1)
    query_max_chars: int = Field(default=2000, ge=0)
    retry_max_backoff_s: float = Field(default=10.0, gt=0)
    # At shutdown, time allowed to write what is buffered before spilling it to disk.
    shutdown_timeout_s: float = Field(default=10.0, ge=0)
    spill_dir: Path = Path(".data/request-log-spill")
