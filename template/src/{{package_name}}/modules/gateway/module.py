"""Manifest of the gateway module: the HiAgent call API, its lifespan and readiness check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from ...core.health import ReadinessCheck
from ...core.plugins import CONFIGURE, EVERYONE, Access, ModuleManifest
from ...hiagent.settings import HiAgentSettings
from .router import router
from .service import open_gateway


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the SDK services and the gateway once; close them at shutdown.

    `app.state.hiagent_settings`, when set before start-up, replaces the `HIAGENT_*`
    environment (tests use it for short cool-downs).
    """
    options: HiAgentSettings = getattr(app.state, "hiagent_settings", None) or HiAgentSettings()
    async with open_gateway(
        app.state.settings,
        options,
        database=app.state.database,
        recorder=getattr(app.state, "request_recorder", None),
        events=getattr(app.state, "event_bus", None),
    ) as gateway:
        app.state.gateway = gateway
        yield


async def _hiagent_ready(request: Request) -> str | None:
    problem: str | None = await request.app.state.gateway.client.readiness_problem()
    return problem


def setup(app: FastAPI) -> None:
    """Report HiAgent on the readiness page without making the service unready."""
    app.state.readiness_checks.append(ReadinessCheck("hiagent", _hiagent_ready, critical=False))


manifest = ModuleManifest(
    name="gateway",
    router=router,
    access=[
        Access("/agents", EVERYONE, methods=("POST",)),
        Access("/workflows", EVERYONE, methods=("GET", "POST")),
        Access("/retrievers", EVERYONE, methods=("POST",)),
        Access("/tools", EVERYONE, methods=("POST",)),
        Access("/agent-configs", EVERYONE, methods=("GET",)),
        Access("/agent-configs/{}/test-runs", CONFIGURE, methods=("POST",)),
        Access("/agent-configs/draft-test-runs", CONFIGURE, methods=("POST",)),
        Access("/agent-configs/app-key-check", CONFIGURE, methods=("POST",)),
        Access("/hiagent/status", EVERYONE, methods=("GET",)),
    ],
    order=40,
    description="Calls to HiAgent agents, workflows, retrievers and tools; test runs",
    setup=setup,
    lifespan=lifespan,
)
