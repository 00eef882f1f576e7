"""The worker's /metrics listens on WORKER_METRICS_HOST: loopback unless told otherwise."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from ..metrics_server import (
    DEFAULT_METRICS_HOST,
    METRICS_HOST_VARIABLE,
    METRICS_PORT_VARIABLE,
    start_metrics_server,
)
from ..testing import StartWorker

METRICS_WITHIN_S = 30.0  # includes the worker's start-up


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def bindable(host: str) -> bool:
    try:
        with socket.socket() as sock:
            sock.bind((host, 0))
    except OSError:
        return False
    return True


def answers(host: str, port: int) -> bool:
    try:
        url = f"http://{host}:{port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - what a container sets


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        (None, "127.0.0.1"),
        ("", "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1"),
        (EVERY_INTERFACE, EVERY_INTERFACE),
    ],
)
def test_metrics_listen_on_the_configured_host_loopback_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, configured: str | None, expected: str
) -> None:
    assert DEFAULT_METRICS_HOST == "127.0.0.1"
    port = free_port()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv(METRICS_PORT_VARIABLE, str(port))
    if configured is None:
        monkeypatch.delenv(METRICS_HOST_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(METRICS_HOST_VARIABLE, configured)

    server, thread = start_metrics_server()
    try:
        assert server.server_address[:2] == (expected, port)
        assert answers("127.0.0.1", port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.slow
async def test_a_worker_process_serves_metrics_only_on_the_configured_host(
    start_worker: StartWorker,
) -> None:
    # All of 127.0.0.0/8 is loopback on Linux: listening on 127.0.0.2 alone shows the
    # address is the one configured, not every interface and not a fixed one.
    host = "127.0.0.2"
    if not bindable(host):
        pytest.skip(f"{host} is not an address of this machine")
    port = free_port()
    worker = start_worker(
        metrics_port=port, **{METRICS_HOST_VARIABLE: host, "PYTHONUNBUFFERED": "1"}
    )
    deadline = time.monotonic() + METRICS_WITHIN_S
    while not await asyncio.to_thread(answers, host, port):
        assert worker.process.poll() is None, worker.output()
        assert time.monotonic() < deadline, worker.output()
        await asyncio.sleep(0.2)

    assert not await asyncio.to_thread(answers, "127.0.0.1", port)
    assert f"metrics on http://{host}:{port}/metrics" in worker.output()
