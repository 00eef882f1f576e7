"""Redis away, messages lost, workers dead: the API keeps serving and no task is lost.

Each test is a deployment of its own (database and redis-server, stopped by PID), so nothing
else touches its tasks.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY

from ....core.settings import Settings
from ....worker.broker import messages_key, queue_key
from ....worker.embedded import RedisServer
from ....worker.settings import WorkerSettings
from ....worker.testing import Deployment, open_deployment
from ..lifespan import monitor_once
from ..models import Task, TaskStatus
from ..runner import execute_task
from ..service import claim, recover_abandoned

MANUAL = 3600.0  # a monitor that makes its first round at start-up, then waits for the test


def redis_settings(server: RedisServer, **timings: Any) -> WorkerSettings:
    values: dict[str, Any] = {
        "redis_mode": "standalone",
        "redis_host": "127.0.0.1",
        "redis_port": server.port,
        "redis_namespace": f"test-{uuid.uuid4().hex[:6]}",
        "task_monitor_interval_s": 0.1,
        "task_lease_s": 2,
        **timings,
    }
    return WorkerSettings(_env_file=None, **values)


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def submit(deployment: Deployment, name: str = "support-bot") -> dict[str, Any]:
    response = await deployment.http.post(
        f"/api/v1/agents/{name}/tasks", json={"query": "hi"}, headers=deployment.headers
    )
    assert response.status_code == 202, response.text
    task: dict[str, Any] = response.json()
    return task


async def add_agent(deployment: Deployment) -> None:
    body = {"name": "support-bot", "app_key": "app-support-bot"}
    response = await deployment.http.post(
        "/api/v1/agent-configs", json=body, headers=deployment.headers
    )
    assert response.status_code == 201, response.text


def inline_submissions() -> float:
    return REGISTRY.get_sample_value("task_submissions_total", {"mode": "inline"}) or 0.0


async def test_with_redis_stopped_submissions_run_inline_until_it_returns(
    test_settings: Settings, redis_servers: Callable[..., RedisServer]
) -> None:
    server = redis_servers("redis")
    async with open_deployment(test_settings, redis_settings(server)) as deployment:
        await add_agent(deployment)
        assert (await submit(deployment))["status"] == "queued"
        inline_before = inline_submissions()

        server.stop()
        inline = await submit(deployment)
        ready = await deployment.http.get("/health/ready")

        assert (inline["status"], inline["inline"]) == ("succeeded", True)
        assert inline["result"]["answer"]
        assert ready.status_code == 200  # Redis is not critical: the API still serves
        redis_check = ready.json()["checks"]["redis"]
        assert redis_check["ok"] is False
        assert f"127.0.0.1:{server.port}" in redis_check["detail"]
        assert "inline" in redis_check["detail"]
        assert inline_submissions() == inline_before + 1
        queue = deployment.app.state.task_queue
        assert not await queue.check()
        assert REGISTRY.get_sample_value("task_queue_available") == 0  # read before any await

        redis_servers("redis", port=server.port)  # back, on the same address
        await eventually(lambda: queue.available)  # noticed by the monitor
        again = await submit(deployment)
        assert (again["status"], again["inline"]) == ("queued", False)
        assert await queue.check()
        assert REGISTRY.get_sample_value("task_queue_available") == 1
        assert (await deployment.http.get("/health/ready")).json()["checks"]["redis"]["ok"]


async def test_a_task_whose_message_was_lost_is_sent_again(
    test_settings: Settings, redis_servers: Callable[..., RedisServer]
) -> None:
    server = redis_servers("redis")
    settings = redis_settings(server, task_monitor_interval_s=MANUAL)
    async with open_deployment(test_settings, settings) as deployment:
        await add_agent(deployment)
        task_id = (await submit(deployment))["task_id"]
        # As after a failover to a replica that never received the message.
        server.client().delete(queue_key(settings), messages_key(settings))
        database = deployment.app.state.database
        async with database.session() as session:
            task = await session.get(Task, task_id)
            assert task is not None
            assert task.message_id
            assert task.sent_at
            lost = task.message_id
            task.sent_at -= timedelta(seconds=settings.task_lease_s + 1)
            await session.commit()

        await monitor_once(deployment.app, deployment.app.state.task_queue, settings)

        async with database.session() as session:
            task = await session.get(Task, task_id)
            assert task is not None
            assert task.message_id not in (None, lost)
            assert await deployment.app.state.task_queue.holds(task.message_id or "")
        assert await execute_task(deployment.app, task_id) == TaskStatus.SUCCEEDED


async def test_a_run_whose_worker_died_is_queued_again_then_failed_when_out_of_attempts(
    test_settings: Settings, redis_servers: Callable[..., RedisServer]
) -> None:
    server = redis_servers("redis")
    settings = redis_settings(server, task_monitor_interval_s=MANUAL, task_max_attempts=2)
    async with open_deployment(test_settings, settings) as deployment:
        await add_agent(deployment)
        task_id = (await submit(deployment))["task_id"]
        database, bus = deployment.app.state.database, deployment.app.state.event_bus

        async def run_and_die() -> None:
            # A run that claims the task and vanishes: its lease is never renewed.
            assert await claim(database, task_id, lease_s=0.05) is not None
            await asyncio.sleep(0.1)

        await run_and_die()
        assert await recover_abandoned(database, bus, max_attempts=2) == []
        async with database.session() as session:
            task = await session.get(Task, task_id)
            assert task is not None
            assert (task.status, task.error_type) == (TaskStatus.QUEUED, "worker_lost")

        await run_and_die()
        [failed] = await recover_abandoned(database, bus, max_attempts=2)
        assert (failed.id, failed.status, failed.attempts) == (task_id, TaskStatus.FAILED, 2)
        read = await deployment.http.get(f"/api/v1/tasks/{task_id}", headers=deployment.headers)
        assert read.json()["error"]["type"] == "worker_lost"
        assert "stopped before finishing" in read.json()["error"]["message"]
