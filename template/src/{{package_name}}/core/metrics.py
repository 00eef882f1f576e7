"""Prometheus metrics shared by the whole process (listed in docs/operations.md)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

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
HTTP_IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being served.")
AGENT_CONFIGS = Gauge("agent_configs_total", "Configured agents.", ["enabled"])


async def metrics_endpoint(_: Request) -> Response:
    """Prometheus scrape endpoint."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
