"""Fixtures of the task tests: configurations, the request log, waiting for a task."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...analytics.models import RequestLog

ConfigFactory = Callable[..., Awaitable[dict[str, Any]]]
LogReader = Callable[[], Awaitable[list[RequestLog]]]
TaskWaiter = Callable[..., Awaitable[dict[str, Any]]]


@pytest_asyncio.fixture(autouse=True)
async def _fresh_gateway(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    # Configuration ids restart in every test: breakers and limits must not leak.
    yield
    if "app" in request.fixturenames:
        app: FastAPI = request.getfixturevalue("app")
        await app.state.request_recorder.flush()
        app.state.gateway.reset()


@pytest.fixture
def make_config(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> ConfigFactory:
    """Create a configuration through the API: `await make_config("bot", app_key="k")`."""

    async def factory(name: str = "support-bot", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "app_key": f"app-{name}", "config_type": "agent", **fields}
        response = await client.post("/api/v1/agent-configs", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return factory


@pytest.fixture
def request_log(app: FastAPI, db_session: AsyncSession) -> LogReader:
    """The request log as stored, oldest first (after flushing this process's recorder)."""

    async def read() -> list[RequestLog]:
        await app.state.request_recorder.flush()
        db_session.expire_all()
        rows = await db_session.exec(select(RequestLog).order_by(col(RequestLog.id)))
        return list(rows.all())

    return read


@pytest.fixture
def wait_for_task(client: httpx.AsyncClient) -> TaskWaiter:
    """Poll a task until its status is one of `statuses`; returns it."""

    async def wait(
        task_id: str,
        headers: dict[str, str],
        statuses: tuple[str, ...] = ("succeeded", "failed"),
        within: float = 30.0,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            response = await client.get(f"/api/v1/tasks/{task_id}", headers=headers)
            assert response.status_code == 200, response.text
            task: dict[str, Any] = response.json()
            if task["status"] in statuses:
                return task
            assert time.monotonic() < deadline, f"task still {task['status']}: {task}"
            await asyncio.sleep(0.1)

    return wait
