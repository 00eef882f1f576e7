"""What each request costs: no thread hops, no unused tracing, pooled connections, processes.

The figures themselves come from the HTTP benchmark (docs/performance.md); these tests keep
the behaviours that the figures rely on.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import func, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from ...app import create_app
from ...testing.cli import staging_environment, without_product_settings
from ..db import Database
from ..security import PASSWORD_THREAD_NICENESS, password_work
from ..settings import AppEnv, Settings, available_cpus
from ..tracing import tracer

PACKAGE = __package__.split(".")[0] if __package__ else ""
# FastAPI's own form class: sign-in reads its form in a thread, once per sign-in.
ALLOWED_SYNC = {"OAuth2PasswordRequestForm"}


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if hasattr(route, "original_router"):  # routers included lazily
            yield from _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _is_async(call: Any) -> bool:
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004
    )


def test_no_dependency_of_ours_runs_in_a_thread(app: FastAPI) -> None:
    # FastAPI runs a plain `def` dependency in its thread pool: a thread hop per request.
    ours = f"{PACKAGE}."
    hopping: dict[str, set[str]] = {}

    def walk(dependant: Any, path: str) -> None:
        for sub in dependant.dependencies:
            call = sub.call
            name = getattr(call, "__qualname__", repr(call))
            module = getattr(call, "__module__", "") or ""
            mine = module.startswith(ours) and ".tests" not in module
            if call is not None and mine and not _is_async(call) and name not in ALLOWED_SYNC:
                hopping.setdefault(f"{module}.{name}", set()).add(path)
            walk(sub, path)

    routes = list(_routes(app.routes))
    assert len(routes) > 20, "the routes were not found: nothing was checked"
    for route in routes:
        walk(route.dependant, route.path)
    assert not hopping, f"make these `async def`: {hopping}"


def test_without_an_exporter_nothing_is_traced(test_settings: Settings) -> None:
    application = create_app(test_settings.model_copy(update={"otel_exporter_otlp_endpoint": None}))
    assert application.state.tracer_provider is None
    assert not [m for m in application.user_middleware if "OpenTelemetry" in str(m.cls)]
    with tracer("hiagent").start_as_current_span("call") as span:
        assert not span.is_recording()


async def test_a_request_makes_one_server_span_not_one_per_message(
    client: httpx.AsyncClient, admin_headers: dict[str, str], span_exporter: InMemorySpanExporter
) -> None:
    await client.get("/api/v1/agent-configs", headers=admin_headers)
    names = [span.name for span in span_exporter.get_finished_spans()]
    assert any(name.endswith("/api/v1/agent-configs") for name in names), names
    assert not [name for name in names if name.endswith((" send", " receive"))], names


async def _backend_pid(database: Database) -> int:
    async with database.session() as session:
        pid: int = (await session.exec(select(func.pg_backend_pid()))).one()
        return pid


@pytest.mark.parametrize("ping_after_idle_s", [0.0, 3600.0])
async def test_an_idle_connection_is_tested_before_use_and_a_busy_one_is_not(
    test_settings: Settings, ping_after_idle_s: float
) -> None:
    assert test_settings.database_url is not None
    settings = test_settings.model_copy(
        update={"db_ping_after_idle_s": ping_after_idle_s, "db_pool_size": 1, "db_max_overflow": 1}
    )
    database = Database(test_settings.database_url, settings)
    try:
        async with database.engine.connect() as held:
            await held.execute(text("SELECT 1"))
            # A second connection, returned to the pool (which keeps one), then killed there.
            killed = await _backend_pid(database)
            await _terminate_from(held, killed)
        if ping_after_idle_s == 0:
            # Idle longer than the threshold: pinged, found dead, replaced; the write works.
            assert await _backend_pid(database) != killed
        else:
            # In steady use, no ping: the dead connection is found by the statement itself
            # (which the API answers with a retry of reads or a 503 for writes).
            with pytest.raises(DBAPIError):
                await _backend_pid(database)
            assert await _backend_pid(database) != killed  # and the pool renewed it
    finally:
        await database.dispose()


async def _terminate_from(connection: Any, pid: int) -> None:
    await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await asyncio.sleep(0.2)  # the server closes the socket


@pytest.mark.skipif(sys.platform != "linux", reason="threads have their own nice value on Linux")
async def test_password_threads_run_below_the_event_loop_priority() -> None:
    def own_niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    loop_niceness = own_niceness()
    thread_niceness = await password_work().run(own_niceness)
    assert thread_niceness == min(19, loop_niceness + PASSWORD_THREAD_NICENESS)
    assert own_niceness() == loop_niceness  # the event loop's thread is untouched


@pytest.mark.parametrize(
    ("app_env", "web_concurrency", "expected"),
    [
        (AppEnv.DEV, None, 1),
        (AppEnv.TEST, None, 1),
        (AppEnv.PROD, None, "cpus"),
        (AppEnv.STAGING, None, "cpus"),
        (AppEnv.PROD, "3", 3),
        (AppEnv.PROD, "", "cpus"),
    ],
)
def test_serve_runs_one_process_per_cpu_in_production(
    app_env: AppEnv, web_concurrency: str | None, expected: int | str
) -> None:
    values: dict[str, Any] = {"app_env": app_env}
    if web_concurrency is not None:
        values["web_concurrency"] = web_concurrency
    settings = Settings(_env_file=None, **values)
    assert settings.server_processes == (available_cpus() if expected == "cpus" else expected)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _counts_by_process(directory: Path, endpoint: str) -> dict[str, float]:
    """This endpoint's 401 count in each server process's metrics file."""
    from prometheus_client.mmap_dict import MmapedDict

    counts: dict[str, float] = {}
    for path in directory.glob("counter_*.db"):
        for entry in MmapedDict.read_all_values_from_file(str(path)):  # type: ignore[no-untyped-call]
            key, value = entry[0], entry[1]
            if '"http_requests_total"' in key and endpoint in key and '"401"' in key:
                counts[path.stem] = counts.get(path.stem, 0) + value
    return counts


def _scraped_total(port: int, endpoint: str) -> float:
    text_ = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    total = 0.0
    for line in text_.splitlines():
        ours = line.startswith("http_requests_total{") and f'endpoint="{endpoint}"' in line
        if ours and 'status="401"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_server_processes_report_their_metrics_together(
    tmp_path: Path, database_url: str
) -> None:
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **without_product_settings(),
        **staging_environment(
            database_url, LOG_LEVEL="WARNING", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
        ),
    }
    command = [sys.executable, "-m", PACKAGE, "serve", "--workers", "2", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    endpoint = "/api/v1/auth/me"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the server did not answer within 90 s"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.3)

        def unauthorised(_: int) -> int:
            # A new connection each time, so the kernel spreads them over both processes.
            headers = {"Connection": "close"}
            return httpx.get(f"http://127.0.0.1:{port}{endpoint}", headers=headers).status_code

        sent = 0
        with ThreadPoolExecutor(8) as pool:
            for _ in range(10):  # until both processes have answered some (almost always once)
                statuses = list(pool.map(unauthorised, range(40)))
                assert set(statuses) == {401}, statuses
                sent += len(statuses)
                if len(_counts_by_process(metrics_dir, endpoint)) >= 2:
                    break
        by_process = _counts_by_process(metrics_dir, endpoint)
        assert len(by_process) >= 2, f"one process answered all {sent} requests: {by_process}"
        # Every scrape, whichever process answers it, counts every process's requests.
        assert [_scraped_total(port, endpoint) for _ in range(6)] == [float(sent)] * 6
        # Gauges every process reads from the database show once (livemax), not per process,
        # from the first refresh on (each process reads them shortly after it starts).
        gauges = ('agent_configs_total{enabled="true"}', "conversations_active")
        expected = [[f"{gauge} 0.0"] for gauge in gauges]
        deadline = time.monotonic() + 30
        while True:
            scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines()
            shown = [[line for line in scraped if line.startswith(g + " ")] for g in gauges]
            if shown == expected or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert shown == expected
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
