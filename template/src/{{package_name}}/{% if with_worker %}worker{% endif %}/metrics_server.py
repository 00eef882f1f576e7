"""The worker's `/metrics`: every worker process's metrics, added up (Prometheus multiprocess)."""

from __future__ import annotations

import os
import threading
import time
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

METRICS_PORT_VARIABLE = "WORKER_METRICS_PORT"
METRICS_HOST_VARIABLE = "WORKER_METRICS_HOST"
# Loopback unless told otherwise: metrics name agents and queues, so they are not published
# to every network the host is on. Containers set 0.0.0.0 so Prometheus and probes reach it.
DEFAULT_METRICS_HOST = "127.0.0.1"


def start_metrics_server() -> tuple[WSGIServer, threading.Thread]:
    """Serve `/metrics` on WORKER_METRICS_HOST:WORKER_METRICS_PORT in a thread."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    host = os.environ.get(METRICS_HOST_VARIABLE) or DEFAULT_METRICS_HOST
    return start_http_server(int(os.environ[METRICS_PORT_VARIABLE]), addr=host, registry=registry)


def serve_metrics() -> None:
    """Run by Dramatiq as a fork process: serve `/metrics` until stopped."""
    start_metrics_server()
    while True:
        time.sleep(3600)
