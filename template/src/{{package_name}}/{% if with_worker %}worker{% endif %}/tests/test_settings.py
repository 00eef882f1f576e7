"""Redis settings: standalone or Sentinel by configuration only, with clear refusals."""

from __future__ import annotations

import pytest

from ...core.settings import ConfigurationError
from ..connection import async_redis_client, redis_client
from ..settings import WorkerSettings, get_worker_settings


def test_sentinels_are_read_as_host_port_pairs() -> None:
    settings = WorkerSettings(
        _env_file=None,
        redis_mode="sentinel",
        redis_sentinels="s1:26379, s2:26380,s3:26381",
        redis_master_name="main",
    )
    assert settings.sentinel_addresses() == [("s1", 26379), ("s2", 26380), ("s3", 26381)]
    assert settings.describe() == "Redis master 'main' via sentinels s1:26379, s2:26380,s3:26381"


def test_sentinel_mode_without_sentinels_is_refused_in_plain_words() -> None:
    with pytest.raises(ConfigurationError, match="REDIS_SENTINELS"):
        WorkerSettings(_env_file=None, redis_mode="sentinel").validate_for_start()
    with pytest.raises(ConfigurationError, match="host:port"):
        WorkerSettings(_env_file=None, redis_sentinels="just-a-host").sentinel_addresses()


def test_the_mode_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_MODE", "sentinel")
    monkeypatch.setenv("REDIS_SENTINELS", "10.0.0.1:26379")
    settings = WorkerSettings(_env_file=None)
    assert settings.redis_mode == "sentinel"
    assert settings.sentinel_addresses() == [("10.0.0.1", 26379)]


async def test_both_clients_reach_the_configured_redis() -> None:
    settings = get_worker_settings()
    assert redis_client(settings).ping()
    client = async_redis_client(settings)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
