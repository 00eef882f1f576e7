"""The worker's `/metrics`: every worker process's metrics, added up (Prometheus multiprocess)."""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

METRICS_PORT_VARIABLE = "WORKER_METRICS_PORT"


def serve_metrics() -> None:
    """Run by Dramatiq as a fork process: serve on WORKER_METRICS_PORT until stopped."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(int(os.environ[METRICS_PORT_VARIABLE]), registry=registry)
    while True:
        time.sleep(3600)
