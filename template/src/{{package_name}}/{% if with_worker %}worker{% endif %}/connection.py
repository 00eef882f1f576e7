"""One Redis connection factory for the broker, progress pub/sub and wake-ups.

Standalone or Sentinel comes from the settings only. With Sentinel every client asks the
sentinels for the current master and finds the new one after a failover by itself.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from .settings import WorkerSettings

# A few quick retries ride out a dropped connection or a failover in progress.
_RETRIES = 3
_BACKOFF_CAP_S = 0.5
_BACKOFF_BASE_S = 0.05
_HEALTH_CHECK_INTERVAL_S = 30


def _options(settings: WorkerSettings) -> dict[str, Any]:
    password = settings.redis_password
    return {
        "db": settings.redis_db,
        "username": settings.redis_username,
        "password": password.get_secret_value() if password else None,
        "socket_connect_timeout": settings.redis_connect_timeout_s,
        "socket_timeout": settings.redis_socket_timeout_s,
        "health_check_interval": _HEALTH_CHECK_INTERVAL_S,
    }


def _sentinel_options(settings: WorkerSettings) -> dict[str, Any]:
    password = settings.redis_sentinel_password
    return {
        "password": password.get_secret_value() if password else None,
        "socket_connect_timeout": settings.redis_connect_timeout_s,
        "socket_timeout": settings.redis_connect_timeout_s,
    }


def redis_client(settings: WorkerSettings) -> redis.Redis:
    """A blocking client (the Dramatiq broker uses these)."""
    retry = Retry(ExponentialBackoff(_BACKOFF_CAP_S, _BACKOFF_BASE_S), _RETRIES)
    options = {**_options(settings), "retry": retry}
    if settings.redis_mode == "sentinel":
        sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            settings.sentinel_addresses(), sentinel_kwargs=_sentinel_options(settings)
        )
        client: redis.Redis = sentinel.master_for(settings.redis_master_name, **options)  # type: ignore[no-untyped-call]
        return client
    return redis.Redis(host=settings.redis_host, port=settings.redis_port, **options)


def async_redis_client(settings: WorkerSettings) -> redis.asyncio.Redis:
    """An asyncio client (API side: enqueue checks, progress, wake-ups)."""
    retry = AsyncRetry(ExponentialBackoff(_BACKOFF_CAP_S, _BACKOFF_BASE_S), _RETRIES)
    options = {**_options(settings), "retry": retry}
    if settings.redis_mode == "sentinel":
        sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            settings.sentinel_addresses(), sentinel_kwargs=_sentinel_options(settings)
        )
        master: redis.asyncio.Redis = sentinel.master_for(settings.redis_master_name, **options)
        return master
    return redis.asyncio.Redis(host=settings.redis_host, port=settings.redis_port, **options)
