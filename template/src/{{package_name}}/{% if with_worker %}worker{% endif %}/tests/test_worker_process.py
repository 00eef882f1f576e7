"""Real worker processes on real Redis: a task runs through one; a killed one loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.events.models import Event
from ...hiagent.emulator import EmulatorServer, Scenario
from ...modules.analytics.models import RequestLog
from ...modules.tasks.events import TaskFinished
from ..testing import StartWorker

pytestmark = pytest.mark.slow

TASK_WITHIN_S = 30.0  # includes the worker's start-up


async def add_agent(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> None:
    body = {"name": "support-bot", "app_key": "app-support-bot", **fields}
    response = await client.post("/api/v1/agent-configs", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def poll(read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + TASK_WITHIN_S
    while True:
        value = await read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value}"
        await asyncio.sleep(0.1)


async def test_a_task_completes_through_a_worker_process(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    start_worker: StartWorker,
    db_session: AsyncSession,
) -> None:
    await add_agent(client, admin_headers)
    hiagent_emulator.set_scenario("app-support-bot", Scenario(answer="Done by the worker."))
    worker = start_worker()
    submitted = await client.post(
        "/api/v1/agents/support-bot/tasks",
        json={"query": "Please handle this"},
        headers={**admin_headers, "X-Request-ID": "req-worker-1"},
    )
    assert submitted.status_code == 202, submitted.text

    async def read() -> dict[str, Any]:
        response = await client.get(submitted.json()["status_url"], headers=admin_headers)
        task: dict[str, Any] = response.json()
        return task

    task = await poll(read, lambda t: t["status"] in ("succeeded", "failed"))

    assert task["status"] == "succeeded", worker.output()
    assert task["result"]["answer"] == "Done by the worker."
    assert task["inline"] is False

    async def logged() -> list[RequestLog]:
        # Written by the worker's own request recorder, off its hot path.
        db_session.expire_all()
        query = select(RequestLog).where(RequestLog.correlation_id == "req-worker-1")
        return list((await db_session.exec(query)).all())

    [row] = await poll(logged, bool)
    assert row.endpoint == "/api/v1/agents/{name_or_id}/tasks"


async def test_a_worker_killed_mid_task_is_replaced_and_the_task_completes_once(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    start_worker: StartWorker,
    db_session: AsyncSession,
) -> None:
    await add_agent(client, admin_headers)
    hiagent_emulator.set_scenario(
        "app-support-bot", Scenario(answer="slow and steady", chunks=4, latency_seconds=2.0)
    )
    first = start_worker()
    submitted = await client.post(
        "/api/v1/agents/support-bot/tasks", json={"query": "take your time"}, headers=admin_headers
    )
    status_url = submitted.json()["status_url"]

    async def read() -> dict[str, Any]:
        task: dict[str, Any] = (await client.get(status_url, headers=admin_headers)).json()
        return task

    async def streams() -> int:
        return hiagent_emulator.active_streams

    await poll(read, lambda t: t["status"] == "running")
    await poll(streams, bool)  # HiAgent is in the middle of the answer
    first.kill()  # SIGKILL: no clean-up, no requeue by Dramatiq, the lease just stops
    assert (await read())["status"] == "running"

    second = start_worker()
    task = await poll(read, lambda t: t["status"] in ("succeeded", "failed"))

    assert task["status"] == "succeeded", second.output()
    assert task["result"]["answer"] == "slow and steady"
    assert task["attempts"] == 2
    finished = (
        await db_session.exec(
            select(Event).where(
                Event.event_type == TaskFinished.event_type,
                col(Event.payload)["task_id"].astext == task["task_id"],
            )
        )
    ).all()
    assert len(finished) == 1  # exactly one result, announced once
    assert len(hiagent_emulator.calls("chat_query_v2")) == 2
