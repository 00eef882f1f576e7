"""Retention settings beyond the three core windows (request log hot and cold, events)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ...core.settings import AppEnv, Settings


class RetentionSettings(BaseSettings):
    """How retention runs: `RETENTION_*` variables (and `.env`)."""

    model_config = SettingsConfigDict(
        env_prefix="RETENTION_", env_file=".env", extra="ignore", case_sensitive=False
    )

    # Agent test runs are kept this long: a month of tests is enough to compare versions.
    test_run_days: int = Field(default=30, ge=1)
    # Analytics roll-ups: minute rows are the high resolution (15 days); hour and day rows are
    # the aggregates (1 year). See docs/operations.md (Retention).
    rollup_minute_days: int = Field(default=15, ge=1)
    rollup_days: int = Field(default=365, ge=1)
    # Rows moved or deleted per transaction: small enough to never hold locks for long.
    batch_size: int = Field(default=5000, ge=1)
    # The daily run: one instance runs it (an advisory lock), once per interval.
    schedule: bool = True
    interval_hours: float = Field(default=24.0, gt=0)
    check_every_s: float = Field(default=3600.0, gt=0)
    first_check_after_s: float = Field(default=60.0, ge=0)

    def scheduled(self, settings: Settings) -> bool:
        """Whether this process schedules runs; tests (APP_ENV=test) call them directly."""
        return self.schedule and settings.app_env is not AppEnv.TEST
