"""Limits, retries, circuit breaker and HTTP client settings for calls to HiAgent.

Read from `HIAGENT_*` environment variables (and `.env`). The endpoints and credentials live in
the core settings (`HIAGENT_TOP_ENDPOINT`, `HIAGENT_APP_BASE_URL`, `VOLC_*`).
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class HiAgentSettings(BaseSettings):
    """How hard, how long and how often this service calls HiAgent."""

    model_config = SettingsConfigDict(
        env_prefix="HIAGENT_", env_file=".env", extra="ignore", case_sensitive=False
    )

    # Concurrency: calls in progress for the whole process, and how many may wait for a slot.
    max_concurrency: int = Field(default=64, ge=1)
    max_queue: int = Field(default=256, ge=0)
    # Calls that may wait for one agent configuration's own limit (its `max_concurrency`).
    config_max_queue: int = Field(default=32, ge=0)
    queue_timeout_s: float = Field(default=10.0, gt=0)
    # Retry-After sent with "busy" answers (queue full or waited too long).
    busy_retry_after_s: int = Field(default=2, ge=1)

    # One retry loop: attempts include the first call; waits grow exponentially with jitter.
    retry_attempts: int = Field(default=3, ge=1, le=10)
    retry_base_delay_s: float = Field(default=0.2, ge=0)
    # Longest single wait, also for a Retry-After from HiAgent; a longer one is passed on.
    retry_max_delay_s: float = Field(default=5.0, ge=0)

    # Circuit breaker per agent configuration: open when at least `breaker_min_calls` calls in
    # the last `breaker_window_s` seconds failed at `breaker_failure_rate` or more.
    breaker_failure_rate: float = Field(default=0.5, gt=0, le=1)
    breaker_min_calls: int = Field(default=10, ge=1)
    breaker_window_s: float = Field(default=30.0, gt=0)
    breaker_cooldown_s: float = Field(default=15.0, gt=0)

    # HTTP clients shared by the SDK services.
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # Between two bytes of an answer; per-configuration timeouts are usually much shorter.
    read_timeout_s: float = Field(default=300.0, gt=0)
    max_connections: int = Field(default=100, ge=1)
    # httpx's default; many idle kept-alive connections make its pool slow under load.
    max_keepalive_connections: int = Field(default=20, ge=0)
    # Sent as X-Trace-Product-Code on every call when set.
    product_code: str | None = None

    # Business code calling by name reuses a configuration read this recently (0: always read);
    # the HTTP API always reads it fresh.
    config_cache_s: float = Field(default=2.0, ge=0)
    # Longest pause between two status polls of a workflow run.
    workflow_poll_interval_s: float = Field(default=1.0, gt=0)
    # Runs started without waiting that are followed to their end or deadline at the same
    # time (each costs a task and a poll per interval); beyond it a run is started unfollowed.
    max_followed_runs: int = Field(default=1000, ge=0)
    # How long a readiness probe of HiAgent is reused, so probes do not load the platform.
    probe_cache_s: float = Field(default=15.0, ge=0)
    probe_timeout_s: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _pool_holds_every_call(self) -> Self:
        # Each call in progress holds one connection; fewer would stall calls at the pool.
        if self.max_connections < self.max_concurrency:
            raise ValueError(
                f"HIAGENT_MAX_CONNECTIONS ({self.max_connections}) must be at least "
                f"HIAGENT_MAX_CONCURRENCY ({self.max_concurrency})"
            )
        return self
