"""Prometheus metrics shared by the whole process (listed in docs/operations.md).

With several server processes (`serve --workers N`), each writes its values to files in
PROMETHEUS_MULTIPROC_DIR and `/metrics` adds every process's up (docs/performance.md).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests served, by route template (not raw path).",
    ["method", "endpoint", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to serve an HTTP request, by route template.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
HTTP_IN_FLIGHT = Gauge(
    "http_requests_in_flight", "HTTP requests being served.", multiprocess_mode="livesum"
)
# Business gauges: every process reads the same figures from the database (the analytics
# module refreshes them), so processes are combined by their maximum, not added up.
AGENT_CONFIGS = Gauge(
    "agent_configs_total",
    "Agent configurations, by whether they are enabled.",
    ["enabled"],
    multiprocess_mode="livemax",
)
CONVERSATIONS_ACTIVE = Gauge(
    "conversations_active",
    "Conversations with a call in the last METRICS_CONVERSATION_WINDOW_S seconds.",
    multiprocess_mode="livemax",
)


def render_metrics() -> bytes:
    """The exposition text: this process's metrics, or every server process's when several."""
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if not directory:
        return generate_latest()
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def metrics_endpoint(_: Request) -> Response:
    """Prometheus scrape endpoint."""
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)
