"""Fixtures of the gateway tests: an app with short resilience settings, configurations, logs.

The app here is the real one (`create_app` and its lifespan) with `app.state.hiagent_settings`
set before start-up: short back-off, a breaker that opens after four failures and cools down in
half a second, small queues. Every call goes through the real SDK to the HiAgent emulator.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ....app import create_app
from ....core.settings import Settings
from ....hiagent.settings import HiAgentSettings
from ....testing.database import truncate_all
from ....testing.plugin import settle
from ...analytics.models import RequestLog
from ..service import Gateway

ConfigFactory = Callable[..., Awaitable[dict[str, Any]]]
LogReader = Callable[[], Awaitable[list[RequestLog]]]

COOLDOWN_S = 0.5


@pytest.fixture(scope="session")
def hiagent_settings() -> HiAgentSettings:
    """Resilience settings small enough for tests to reach every limit quickly."""
    return HiAgentSettings(
        _env_file=None,
        retry_attempts=3,
        retry_base_delay_s=0.01,
        retry_max_delay_s=1.5,
        breaker_min_calls=4,
        breaker_failure_rate=0.5,
        breaker_window_s=30,
        breaker_cooldown_s=COOLDOWN_S,
        max_concurrency=64,
        config_max_queue=1,
        queue_timeout_s=2.0,
        probe_cache_s=0,
    )


@pytest_asyncio.fixture(scope="package")
async def app(
    test_settings: Settings, span_exporter: InMemorySpanExporter, hiagent_settings: HiAgentSettings
) -> AsyncIterator[FastAPI]:
    """The application, started with the short resilience settings (overrides the plugin's).

    It stops after this package's tests: kept for the session, its event dispatcher shared
    the test database with the plugin's app and took other tests' events (a ticket triaged
    by this app was logged by its recorder, which the tickets test did not flush).
    """
    application = create_app(test_settings, span_exporter=span_exporter)
    application.state.hiagent_settings = hiagent_settings
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def gateway(app: FastAPI) -> Gateway:
    """The app's gateway."""
    found: Gateway = app.state.gateway
    return found


@pytest_asyncio.fixture(autouse=True)
async def _fresh_gateway(request: pytest.FixtureRequest) -> None:
    # Configuration ids restart in every test: breakers, limits and log rows must not leak.
    if "app" in request.fixturenames:
        application: FastAPI = request.getfixturevalue("app")
        # Also before: a run still followed would record its end (and poll the emulator) here.
        await settle(application)
        await truncate_all(application.state.database.engine)


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
    """The request log as stored in PostgreSQL, oldest first (after flushing the recorder)."""

    async def read() -> list[RequestLog]:
        await app.state.request_recorder.flush()
        rows = await db_session.exec(
            select(RequestLog).order_by(col(RequestLog.timestamp), col(RequestLog.id))
        )
        return list(rows.all())

    return read


@pytest_asyncio.fixture
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """The app over real HTTP on a loopback port: a client can really go away mid-stream."""
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
