"""The background worker's part of the capacity figures: its processes and the queue's memory."""

from __future__ import annotations

import httpx

from ...modules.sizing.calculator import SizingInput, recommend
from ..sizing import REDIS_BASE_MB, worker_recommendations


def values(load: SizingInput) -> dict[str, float]:
    result = recommend(load, worker=worker_recommendations)
    assert result.worker is True
    return {r.key: r.value for r in result.recommendations}


def test_worker_processes_and_queue_memory_follow_the_tasks() -> None:
    # 600 tasks a minute of 8 s: 80 running, 120 with headroom, 15 processes of 8.
    busy = values(SizingInput(background_tasks_per_minute=600, average_call_seconds=8))
    assert busy["worker_processes"] == 15
    quiet = values(SizingInput(background_tasks_per_minute=6))
    assert quiet["worker_processes"] == 1
    assert busy["redis_memory_mb"] > quiet["redis_memory_mb"] >= REDIS_BASE_MB


async def test_the_api_sizes_the_worker(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    body = (await client.post("/api/v1/sizing", json={}, headers=viewer_headers)).json()
    keys = {r["key"] for r in body["recommendations"]}
    assert body["worker"] is True
    assert {"worker_processes", "redis_memory_mb"} <= keys
