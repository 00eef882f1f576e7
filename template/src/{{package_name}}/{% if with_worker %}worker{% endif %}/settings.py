"""Redis and background-task settings, from `REDIS_*` and `TASK_*` variables (and `.env`).

Standalone or Sentinel is chosen here only (docs/worker.md): switching is configuration,
never code. The copier answer `redis_mode` only picks the default of `REDIS_MODE`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..core.project import PROJECT_SLUG
from ..core.settings import ConfigurationError
from .defaults import DEFAULT_REDIS_MODE

RedisMode = Literal["standalone", "sentinel"]


class WorkerSettings(BaseSettings):
    """Where Redis is, and how background tasks are retried, leased and kept."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    redis_mode: RedisMode = DEFAULT_REDIS_MODE
    # Standalone server
    redis_host: str = "localhost"
    redis_port: int = Field(default=6379, ge=1, le=65535)
    redis_db: int = Field(default=0, ge=0)
    redis_username: str | None = None
    redis_password: SecretStr | None = None
    # Sentinel: "host:port,host:port,..." and the name of the monitored master
    redis_sentinels: str = ""
    redis_master_name: str = "mymaster"
    redis_sentinel_password: SecretStr | None = None
    # Prefix of every key, so several products (or test runs) can share one Redis.
    redis_namespace: str = PROJECT_SLUG
    redis_connect_timeout_s: float = Field(default=1.0, gt=0)
    redis_socket_timeout_s: float = Field(default=5.0, gt=0)

    # Attempts per task, the first included, for failures worth retrying (HiAgent busy or
    # unreachable, the database down); waits grow from the base delay, capped.
    task_max_attempts: int = Field(default=3, ge=1)
    task_retry_base_delay_s: float = Field(default=5.0, ge=0)
    task_retry_max_delay_s: float = Field(default=300.0, ge=0)
    # A running task holds a lease it renews; a worker that dies stops renewing, and once the
    # lease runs out the task is queued again.
    task_lease_s: float = Field(default=30.0, gt=0)
    # How often each process checks Redis, re-queues stranded tasks and updates queue metrics.
    task_monitor_interval_s: float = Field(default=2.0, gt=0)
    # Results and failures stay readable this long after a task finishes.
    task_result_ttl_hours: float = Field(default=168.0, gt=0)
    # Longest a single run may take before the worker stops it.
    task_time_limit_s: float = Field(default=900.0, gt=0)

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """REDIS_SENTINELS as (host, port) pairs; raises `ConfigurationError` if malformed."""
        addresses = []
        for item in filter(None, (part.strip() for part in self.redis_sentinels.split(","))):
            host, _, port = item.rpartition(":")
            if not host or not port.isdigit():
                raise ConfigurationError(
                    [f"REDIS_SENTINELS entry {item!r} is not host:port (e.g. sentinel1:26379)"]
                )
            addresses.append((host, int(port)))
        return addresses

    def validate_for_start(self) -> None:
        """Raise `ConfigurationError` listing every problem, or return quietly."""
        if self.redis_mode == "sentinel" and not self.sentinel_addresses():
            raise ConfigurationError(
                [
                    "REDIS_MODE=sentinel needs REDIS_SENTINELS, e.g. "
                    "REDIS_SENTINELS=sentinel1:26379,sentinel2:26379,sentinel3:26379"
                ]
            )

    def describe(self) -> str:
        """Where Redis is, in words for logs and readiness."""
        if self.redis_mode == "sentinel":
            return f"Redis master {self.redis_master_name!r} via sentinels {self.redis_sentinels}"
        return f"Redis at {self.redis_host}:{self.redis_port}/{self.redis_db}"


@lru_cache(maxsize=1)
def get_worker_settings() -> WorkerSettings:
    """Process-wide worker settings, read once from the environment."""
    return WorkerSettings()
