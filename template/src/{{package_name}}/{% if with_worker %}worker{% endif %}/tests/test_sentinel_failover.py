"""Sentinel on real processes: a master, a replica and three sentinels on loopback ports.

The master is killed while tasks are queued and more are submitted: a replica is promoted and
every task completes, once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from ...core.settings import Settings
from ...modules.tasks.events import TaskFinished
from ..embedded import RedisServer
from ..settings import WorkerSettings
from ..testing import Deployment, StartWorker, open_deployment

pytestmark = pytest.mark.slow

MASTER = "mymaster"


def start_topology(
    redis_servers: Callable[..., RedisServer],
) -> tuple[RedisServer, RedisServer, list[RedisServer]]:
    master = redis_servers("master")
    replica = redis_servers("replica", config=[f"replicaof 127.0.0.1 {master.port}"])
    watch = [
        f"sentinel monitor {MASTER} 127.0.0.1 {master.port} 2",
        f"sentinel down-after-milliseconds {MASTER} 500",
        f"sentinel failover-timeout {MASTER} 3000",
    ]
    sentinels = [redis_servers(f"sentinel-{i}", sentinel=True, config=watch) for i in range(3)]
    return master, replica, sentinels


async def until(condition: Callable[[], bool], what: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not in time: {what}"
        await asyncio.sleep(0.1)


def sentinels_ready(sentinels: list[RedisServer]) -> bool:
    # Each sentinel knows the replica and the two other sentinels: failover can be agreed.
    for sentinel in sentinels:
        client = sentinel.client()
        master: dict[str, Any] = client.sentinel_master(MASTER)
        if int(master.get("num-other-sentinels", 0)) < 2 or not client.sentinel_slaves(MASTER):
            return False
    return True


def master_port(sentinel: RedisServer) -> int:
    _, port = sentinel.client().sentinel_get_master_addr_by_name(MASTER)
    return int(port)


async def submit(deployment: Deployment, n: int) -> str:
    response = await deployment.http.post(
        "/api/v1/agents/support-bot/tasks",
        json={"query": f"question {n}"},
        headers=deployment.headers,
    )
    assert response.status_code == 202, response.text
    task_id: str = response.json()["task_id"]
    return task_id


async def test_tasks_submitted_before_and_after_a_failover_all_complete_once(
    test_settings: Settings,
    redis_servers: Callable[..., RedisServer],
    start_worker: StartWorker,
) -> None:
    master, replica, sentinels = start_topology(redis_servers)
    await until(lambda: sentinels_ready(sentinels), "sentinels see the replica and each other")
    settings = WorkerSettings(
        _env_file=None,
        redis_mode="sentinel",
        redis_sentinels=",".join(f"127.0.0.1:{s.port}" for s in sentinels),
        redis_master_name=MASTER,
        redis_namespace=f"failover-{uuid.uuid4().hex[:6]}",
        task_monitor_interval_s=0.2,
        task_lease_s=2,
    )
    async with open_deployment(test_settings, settings) as deployment:
        config = {"name": "support-bot", "app_key": "app-support-bot"}
        created = await deployment.http.post(
            "/api/v1/agent-configs", json=config, headers=deployment.headers
        )
        assert created.status_code == 201, created.text
        # Consumers reconnect quickly after the master goes away.
        worker = start_worker(**deployment.environment(), dramatiq_restart_delay="300")
        before = [await submit(deployment, n) for n in range(6)]

        master.kill()
        after = [await submit(deployment, n) for n in range(6, 12)]
        await until(lambda: master_port(sentinels[0]) == replica.port, "the replica promoted")
        after += [await submit(deployment, n) for n in range(12, 18)]

        async def statuses() -> dict[str, str]:
            found = {}
            for task_id in before + after:
                response = await deployment.http.get(
                    f"/api/v1/tasks/{task_id}", headers=deployment.headers
                )
                found[task_id] = response.json()["status"]
            return found

        deadline = time.monotonic() + 40
        while set((found := await statuses()).values()) != {"succeeded"}:
            assert time.monotonic() < deadline, f"{found}\n{worker.output()}"
            await asyncio.sleep(0.2)

        async with deployment.app.state.database.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT payload->>'task_id' FROM events WHERE event_type = :type"),
                {"type": TaskFinished.event_type},
            )
            announced = [row[0] for row in rows]
    assert sorted(announced) == sorted(before + after)  # each task finished exactly once
