"""Request ids, JSON logs, metrics by route template, traces and the error envelope."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY


async def test_request_id_is_generated_and_returned(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert len(response.headers["x-request-id"]) == 32


async def test_request_id_from_the_caller_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "bad id\n<script>"})
    assert response.headers["x-request-id"] != "bad id\n<script>"


async def test_errors_use_the_envelope_with_the_correlation_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/agent-configs", headers={"X-Request-ID": "corr-1"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["correlation_id"] == "corr-1"
    assert response.headers["x-request-id"] == "corr-1"


async def test_unknown_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_metrics_use_route_templates_not_raw_paths(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.get("/api/v1/agent-configs/987654", headers=admin_headers)
    text = (await client.get("/metrics")).text
    assert 'endpoint="/api/v1/agent-configs/{config_id}"' in text
    # In no label value (a sample's value, such as a `_created` timestamp, may hold the digits).
    assert not re.search(r'="[^"]*987654[^"]*"', text)
    assert "http_request_duration_seconds_bucket" in text


async def test_metrics_count_each_request(client: httpx.AsyncClient) -> None:
    labels = {"method": "GET", "endpoint": "/health/live", "status": "200"}
    before = REGISTRY.get_sample_value("http_requests_total", labels) or 0
    await client.get("/health/live")
    await client.get("/health/live")
    assert REGISTRY.get_sample_value("http_requests_total", labels) == before + 2


async def test_log_lines_are_json_with_request_context(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from loguru import logger

    logger.remove()
    from ..logging import configure_logging

    configure_logging("INFO", json_lines=True)
    await client.get("/api/v1/agent-configs", headers={**admin_headers, "X-Request-ID": "log-1"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    access = [line for line in lines if line.get("correlation_id") == "log-1"]
    assert access, lines
    entry = access[-1]
    for key in ("timestamp", "level", "message", "method", "path", "status", "duration_ms"):
        assert key in entry
    assert entry["user"] == "admin@example.com"
    assert entry["status"] == 200
    assert len(entry["trace_id"]) == 32


async def test_each_request_produces_a_server_span(
    client: httpx.AsyncClient, admin_headers: dict[str, str], span_exporter: InMemorySpanExporter
) -> None:
    await client.get("/api/v1/agent-configs", headers=admin_headers)
    names = [span.name for span in span_exporter.get_finished_spans()]
    assert any("/api/v1/agent-configs" in name for name in names), names


def test_the_standard_library_logs_at_the_configured_level(app: FastAPI) -> None:
    # At level 0, uvicorn would wrap the app in its TRACE message logger (every ASGI message of
    # every request formatted, then dropped by loguru).
    configured = logging.getLevelNamesMapping()[app.state.settings.log_level.upper()]
    assert logging.getLogger("uvicorn.error").getEffectiveLevel() == configured
    assert configured > 5
