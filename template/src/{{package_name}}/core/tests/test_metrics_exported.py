"""Every metric docs/operations.md promises carries a value after real traffic.

Calls go through the real SDK to the HiAgent emulator (one answered, one failing), an event is
published and handled, and with the worker a task runs in a real worker process; then the
API's `/metrics` (and the worker's) are scraped as Prometheus would.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import time
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from ...hiagent.emulator import EmulatorServer, Failure, Scenario
from ...modules.analytics.gauges import GaugeSettings, refresh_business_gauges
from ..events.bus import DomainEvent, EventBus, EventContext, subscribe
from ..events.settings import EventSettings
from ..project import PACKAGE_NAME

WITH_WORKER = importlib.util.find_spec(f"{PACKAGE_NAME}.worker") is not None
API_METRICS = (
    "http_requests_total",
    "http_request_duration_seconds",
    "hiagent_request_total",
    "hiagent_request_duration_seconds",
    "hiagent_tokens_total",
    "hiagent_errors_total",
    "events_published_total",
    "events_processed_total",
    "event_processing_lag_seconds",
    "conversations_active",
    "agent_configs_total",
)
# Task metrics: the queue depth on the API's /metrics, the runs on the worker's.
API_TASK_METRICS = ("task_queue_depth",)
WORKER_TASK_METRICS = ("task_duration_seconds", "task_failures_total")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class ReportRequested(DomainEvent):
    event_type: ClassVar[str] = "test.report_requested"
    report: str


def samples(text: str) -> Samples:
    """Every sample of an exposition text, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def names_with_a_sample(found: Samples) -> set[str]:
    suffixes = ("_total", "_count", "_sum", "_bucket", "_created")
    names = set()
    for name, _ in found:
        names.add(name)
        for suffix in suffixes:
            if name.endswith(suffix):
                names.add(name.removesuffix(suffix))
                if suffix != "_total":
                    names.add(name.removesuffix(suffix) + "_total")
    return names


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient() as scraper:
        response = await scraper.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return samples(response.text)


async def add_agent(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, app_key: str
) -> None:
    body = {"name": name, "app_key": app_key, "config_type": "agent"}
    response = await client.post("/api/v1/agent-configs", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def run_tasks(
    client: httpx.AsyncClient, headers: dict[str, str], request: pytest.FixtureRequest
) -> Samples:
    """One task that succeeds and one that fails, in a real worker; its /metrics after."""
    port = _free_port()
    worker = request.getfixturevalue("start_worker")(metrics_port=port)
    statuses = []
    for agent in ("metrics-ok-bot", "metrics-broken-bot"):
        submitted = await client.post(
            f"/api/v1/agents/{agent}/tasks", json={"query": "Summarise"}, headers=headers
        )
        assert submitted.status_code == 202, submitted.text
        deadline = time.monotonic() + 60
        while True:
            task = (await client.get(submitted.json()["status_url"], headers=headers)).json()
            if task["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, worker.output()
            await asyncio.sleep(0.1)
        statuses.append(task["status"])
    assert statuses == ["succeeded", "failed"], worker.output()
    return await scrape(f"http://127.0.0.1:{port}/metrics")


async def test_every_promised_metric_carries_a_value_after_real_traffic(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    request: pytest.FixtureRequest,
) -> None:
    await add_agent(client, admin_headers, "metrics-ok-bot", "app-metrics-ok")
    await add_agent(client, admin_headers, "metrics-broken-bot", "app-metrics-broken")
    hiagent_emulator.set_scenario("app-metrics-ok", Scenario(answer="All good.", chunks=2))
    hiagent_emulator.set_scenario(
        "app-metrics-broken", Scenario(failure=Failure(kind="message_failed"))
    )

    answered = await client.post(
        "/api/v1/agents/metrics-ok-bot/invoke", json={"query": "Hi"}, headers=admin_headers
    )
    assert answered.status_code == 200, answered.text
    failed = await client.post(
        "/api/v1/agents/metrics-broken-bot/invoke", json={"query": "Hi"}, headers=admin_headers
    )
    assert failed.status_code == 502, failed.text

    # A module's event and its handler, delivered by the event bus as in the product.
    handled: list[str] = []

    @subscribe(ReportRequested, name="test.reports")
    async def make_report(event: ReportRequested, context: EventContext) -> None:
        handled.append(event.report)

    bus = EventBus(app, app.state.database, [make_report], EventSettings(_env_file=None))
    await bus.emit(ReportRequested(report="weekly"), source="test")
    assert await bus.dispatch_once() == 1
    assert handled == ["weekly"]

    worker_samples: Samples = {}
    if WITH_WORKER:
        worker_samples = await run_tasks(client, admin_headers, request)

    # What the request recorder and the gauge refresher of the app do on their own, now.
    await app.state.request_recorder.flush()
    await app.state.event_bus.flush_emitted()
    await refresh_business_gauges(app.state.database.engine, GaugeSettings(_env_file=None))
    found = samples((await client.get("/metrics")).text)

    expected = API_METRICS + (API_TASK_METRICS if WITH_WORKER else ())
    assert set(expected) <= names_with_a_sample(found)
    invoke = {"method": "POST", "endpoint": "/api/v1/agents/{name_or_id}/invoke"}
    assert (value(found, "http_requests_total", **invoke, status="200") or 0) >= 1
    assert (value(found, "http_requests_total", **invoke, status="502") or 0) >= 1
    assert (value(found, "http_request_duration_seconds_count", **invoke) or 0) >= 2
    ok, broken = {"agent_id": "metrics-ok-bot"}, {"agent_id": "metrics-broken-bot"}
    assert (value(found, "hiagent_request_total", **ok, status="success") or 0) >= 1
    assert (value(found, "hiagent_request_total", **broken, status="error") or 0) >= 1
    assert (value(found, "hiagent_request_duration_seconds_count", **ok) or 0) >= 1
    assert (value(found, "hiagent_tokens_total", **ok, direction="input") or 0) > 0
    assert (value(found, "hiagent_tokens_total", **ok, direction="output") or 0) > 0
    assert value(found, "hiagent_errors_total", **broken, error_type="agent_failed") == 1
    assert value(found, "events_published_total", event_type=ReportRequested.event_type) == 1
    assert (value(found, "events_published_total", event_type="hiagent.call_finished") or 0) >= 2
    processed = {"event_type": ReportRequested.event_type, "status": "processed"}
    assert value(found, "events_processed_total", **processed) == 1
    assert value(found, "event_processing_lag_seconds") is not None
    assert value(found, "agent_configs_total", enabled="true") == 2
    assert value(found, "agent_configs_total", enabled="false") == 0
    assert (value(found, "conversations_active") or 0) >= 1
    if WITH_WORKER:
        assert value(found, "task_queue_depth", queue="tasks") is not None
        assert set(WORKER_TASK_METRICS) <= names_with_a_sample(worker_samples)
        assert (value(worker_samples, "task_duration_seconds_count", task_type="agent") or 0) >= 2
        failure = {"task_type": "agent", "reason": "agent_failed"}
        assert value(worker_samples, "task_failures_total", **failure) == 1


def test_gauges_combine_the_processes_of_serve_workers_without_stale_ones() -> None:
    # With PROMETHEUS_MULTIPROC_DIR, a gauge's mode says how processes add up; a `live` mode
    # drops a process that has exited (docs/operations.md, Metrics).
    from prometheus_client import REGISTRY, Gauge

    gauges: dict[str, Any] = {}
    for collector in list(REGISTRY._collector_to_names):
        if isinstance(collector, Gauge):
            gauges[collector._name] = collector
    expected = {"conversations_active": "livemax", "agent_configs_total": "livemax"}
    if WITH_WORKER:
        expected["task_queue_depth"] = "livemostrecent"
    for name, mode in expected.items():
        assert gauges[name]._multiprocess_mode == mode, name
    assert all(g._multiprocess_mode.startswith("live") for g in gauges.values()), {
        name: g._multiprocess_mode for name, g in gauges.items()
    }
