"""Workflow runs started with `mode=async`: the deadline, the follower and its request-log row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from ....app import create_app
from ....core.settings import Settings
from ....hiagent.emulator import EmulatorServer, Scenario, WorkflowScenario
from ....hiagent.settings import HiAgentSettings
from ....testing.events import EventLog
from ..service import Gateway
from .conftest import ConfigFactory, LogReader

START = "/api/v1/workflows/report/run?mode=async"
RUN_ENDPOINT = "/api/v1/workflows/{name}/run"


async def report_workflow(
    make_config: ConfigFactory, emulator: EmulatorServer, total_timeout_s: float, **run: Any
) -> None:
    """The `report` workflow, whose emulated runs behave as `run` (WorkflowScenario fields)."""
    await make_config(
        "report",
        app_key="app-report",
        config_type="workflow",
        workflow_id="wf",
        total_timeout_s=total_timeout_s,
    )
    emulator.set_scenario("app-report", Scenario(workflow=WorkflowScenario(**run)))


async def start(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(START, json={"inputs": {}}, headers=headers)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def status_of(
    client: httpx.AsyncClient, headers: dict[str, str], run_id: str
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/workflows/report/runs/{run_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def followed_to_the_end(gateway: Gateway, within: float = 3.0) -> None:
    async with asyncio.timeout(within):
        while gateway.client.followed_runs:  # noqa: ASYNC110 - the follower offers no event
            await asyncio.sleep(0.01)


async def test_an_async_run_answers_with_its_deadline_and_its_end_is_recorded_with_tokens(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
    gateway: Gateway,
    event_log: EventLog,
) -> None:
    await report_workflow(
        make_config, hiagent_emulator, 30, output='{"rows": 12}', processing_polls=2, cost_tokens=40
    )
    before = datetime.now(UTC)

    started = await start(client, viewer_headers)

    assert started["status"] == "processing"
    deadline_at = datetime.fromisoformat(started["deadline_at"])
    assert before + timedelta(seconds=30) <= deadline_at
    assert deadline_at <= datetime.now(UTC) + timedelta(seconds=30)
    await followed_to_the_end(gateway)
    assert len(hiagent_emulator.calls("query_run_app_process")) == 3
    start_row, end_row = await request_log()
    assert (start_row.status, start_row.tokens_out) == ("success", 0)
    assert (end_row.status, end_row.error_type, end_row.tokens_out) == ("success", None, 40)
    assert end_row.correlation_id == start_row.correlation_id
    assert end_row.endpoint == RUN_ENDPOINT
    calls = await event_log.wait_for("hiagent.call_finished", count=2)
    assert sorted(call.payload["tokens_out"] for call in calls) == [0, 40]
    done = await status_of(client, viewer_headers, started["run_id"])
    assert (done["status"], done["output"]) == ("success", {"rows": 12})


async def test_an_async_run_that_fails_is_recorded_as_workflow_failed(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
    gateway: Gateway,
) -> None:
    await report_workflow(make_config, hiagent_emulator, 30, status="failed", cost_tokens=25)

    await start(client, viewer_headers)

    await followed_to_the_end(gateway)
    _, end_row = await request_log()
    assert (end_row.status, end_row.error_type, end_row.tokens_out) == (
        "error",
        "workflow_failed",
        25,
    )


async def test_an_async_run_unfinished_at_its_deadline_is_recorded_and_reported_timed_out(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
    gateway: Gateway,
) -> None:
    await report_workflow(make_config, hiagent_emulator, 0.5, processing_polls=1000)

    started = await start(client, viewer_headers)
    early = await status_of(client, viewer_headers, started["run_id"])
    await followed_to_the_end(gateway)
    late = await status_of(client, viewer_headers, started["run_id"])

    assert (early["status"], early["deadline_at"]) == ("processing", started["deadline_at"])
    assert (late["status"], late["output"], late["deadline_at"]) == (
        "timeout",
        None,
        started["deadline_at"],
    )
    assert "did not finish by its deadline" in late["message"]
    assert "'processing'" in late["message"]
    run_rows = [row for row in await request_log() if row.endpoint == RUN_ENDPOINT]
    assert [(row.status, row.error_type) for row in run_rows] == [
        ("success", None),
        ("timeout", "timeout"),
    ]
    assert run_rows[1].duration_ms >= 500  # given up at the deadline, not before


async def test_shutdown_stops_following_and_records_the_run_as_cancelled(
    test_settings: Settings,
    hiagent_settings: HiAgentSettings,
    viewer_headers: dict[str, str],
    make_config: ConfigFactory,
    hiagent_emulator: EmulatorServer,
    request_log: LogReader,
) -> None:
    await report_workflow(make_config, hiagent_emulator, 60, processing_polls=1000)
    other: FastAPI = create_app(test_settings)
    other.state.hiagent_settings = hiagent_settings

    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            await start(http, viewer_headers)
        followers = other.state.gateway.client
        assert followers.followed_runs == 1

    assert followers.followed_runs == 0
    still_running = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__name__", "") == "_follow_to_end"
    ]
    assert still_running == []
    assert [row.status for row in await request_log()] == ["success", "cancelled"]
