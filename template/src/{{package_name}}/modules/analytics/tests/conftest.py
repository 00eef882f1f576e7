"""Fixtures of the analytics tests: call records, agent configurations, a live HTTP server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from ....testing.database import truncate_all
from ...agents.models import AgentConfig
from ..recorder import CallRecord, RequestRecorder

RecordFactory = Callable[..., CallRecord]


@pytest_asyncio.fixture(autouse=True)
async def _no_records_of_other_tests(request: pytest.FixtureRequest) -> None:
    # A test elsewhere may have recorded calls without flushing: store and drop them first.
    if "app" in request.fixturenames:
        app: FastAPI = request.getfixturevalue("app")
        await app.state.request_recorder.flush()
        await truncate_all(app.state.database.engine)


@pytest.fixture
def recorder(app: FastAPI) -> RequestRecorder:
    """The app's own request recorder."""
    recorder: RequestRecorder = app.state.request_recorder
    return recorder


@pytest.fixture
def make_record() -> RecordFactory:
    """A call record: `make_record(status="error", duration_ms=900)`."""
    count = 0

    def factory(**fields: Any) -> CallRecord:
        nonlocal count
        count += 1
        values: dict[str, Any] = {
            "correlation_id": f"corr-{count}",
            "endpoint": "/api/v1/agents/{name_or_id}/invoke",
            "agent_config_id": None,
            "user_id": "ann@example.com",
            "query": f"question {count}",
            "status": "success",
            "error_type": None,
            "duration_ms": 800,
            "tokens_in": 10,
            "tokens_out": 20,
            "conversation_id": None,
            "timestamp": datetime.now(UTC),
        }
        values.update(fields)
        return CallRecord(**values)

    return factory


@pytest_asyncio.fixture
async def agents(db_session: AsyncSession) -> dict[str, AgentConfig]:
    """Two agent configurations, `support-bot` and `sales-bot`, by name."""
    configs = [
        AgentConfig(name=name, app_key=f"key-{name}") for name in ("support-bot", "sales-bot")
    ]
    db_session.add_all(configs)
    await db_session.commit()
    for config in configs:
        await db_session.refresh(config)
    return {config.name: config for config in configs}


@pytest_asyncio.fixture
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """The app served over real HTTP on a loopback port (streams need a real connection)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()
