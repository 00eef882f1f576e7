"""A default product, rendered from this working tree and serving on loopback, for black-box tests.

`running_product()` renders the default answers (no bootstrap at copy time), installs it, makes a
database of its own on DATABASE_URL's server (the loopback PostgreSQL when DATABASE_URL is unset),
bootstraps it with an admin password chosen here, and starts the HiAgent emulator and `serve`
(APP_ENV=test, so /openapi.json is served and nothing is filled in silently) on free loopback
ports. Everything it started is stopped by pid, and the database dropped, when the block ends.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from .conftest import UV, copier_command

SLUG = "acme-support"
PACKAGE = "acme_support"
API = "/api/v1"
# The server CI starts (.ci/run exports DATABASE_URL for it); used when DATABASE_URL is unset.
LOOPBACK_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Product:
    """A product serving on loopback, and how to reach what is behind it."""

    project: Path
    base_url: str
    env: dict[str, str]
    database: str
    server_dsn: str  # asyncpg DSN of the server's maintenance database (never the product's)
    admin_username: str
    admin_password: str
    log: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def log_tail(self, lines: int = 60) -> str:
        with suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """`postgresql+asyncpg://...` (SQLAlchemy's spelling) as asyncpg takes it; maybe renamed."""
    parts = urllib.parse.urlsplit(url)
    scheme = "postgresql"
    path = f"/{database}" if database is not None else parts.path
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, parts.query, parts.fragment))


def _reachable(dsn: str) -> str | None:
    async def probe() -> None:
        connection = await asyncpg.connect(dsn, timeout=5)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def database_server() -> str:
    """DATABASE_URL, else the loopback PostgreSQL; fails the test clearly when it is unreachable."""
    configured = os.environ.get("DATABASE_URL")
    url = configured or LOOPBACK_SERVER
    problem = _reachable(asyncpg_dsn(url))
    if problem is not None:
        origin = "DATABASE_URL" if configured else f"DATABASE_URL is unset and {LOOPBACK_SERVER}"
        pytest.fail(
            f"{origin} is not reachable ({problem}). These tests need a PostgreSQL server on which "
            "they may create and drop a database: start one (.ci/run does) or set DATABASE_URL, "
            "e.g. DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        )
    return url


def _execute(dsn: str, statement: str, *args: object) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            await connection.execute(statement, *args)
        finally:
            await connection.close()

    asyncio.run(run())


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DATABASE_URL")}


def render_default_product(destination: Path) -> Path:
    """The default answers rendered from this working tree (no bootstrap), and `uv sync`ed."""
    result = subprocess.run(
        copier_command(destination, {"project_name": "Acme Support", "run_bootstrap": "false"}),
        capture_output=True,
        text=True,
        env={**_clean_env(), "PYTHONWARNINGS": "ignore"},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    subprocess.run([UV, "sync", "-q"], cwd=destination, env=_clean_env(), check=True, timeout=900)
    return destination


def _wait_ready(product: Product, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`serve` exited with {process.returncode}:\n{product.log_tail()}")
        try:
            response = httpx.get(product.url("/health/ready"), timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    pytest.fail(f"/health/ready not 200 after {seconds} s ({last}):\n{product.log_tail()}")


def wait_for_port(port: int, process: subprocess.Popen[Any], seconds: float = 60) -> None:
    """Wait until something listens on the loopback `port`; fail if `process` exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args!r} exited early with {process.returncode}"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after {seconds} s ({process.args!r})")


def stop(process: subprocess.Popen[Any]) -> None:
    """Stop one process this module started, by its pid, then reap it."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def running_product(
    workdir: Path, label: str, extra_env: dict[str, str] | None = None
) -> Iterator[Product]:
    """Render, install, bootstrap and serve the default product; stop it all afterwards."""
    started = time.monotonic()
    project = render_default_product(workdir / "acme")
    server = database_server()
    database = f"{PACKAGE}_{label}_{uuid.uuid4().hex[:8]}"
    server_dsn = asyncpg_dsn(server)
    _execute(server_dsn, f'CREATE DATABASE "{database}"')
    emulator_port, api_port = free_port(), free_port()
    admin_password = "Adm-" + secrets.token_urlsafe(18)
    env = {
        **_clean_env(),
        "APP_ENV": "test",
        "DATABASE_URL": server.rsplit("/", 1)[0] + f"/{database}",
        "HIAGENT_JWT_SECRET": secrets.token_urlsafe(48),
        "HIAGENT_ADMIN_USERNAME": "admin",
        "HIAGENT_ADMIN_PASSWORD": admin_password,
        "VOLC_ACCESSKEY": f"{label}-access-key",
        "VOLC_SECRETKEY": f"{label}-secret-key",
        "HIAGENT_TOP_ENDPOINT": f"http://127.0.0.1:{emulator_port}",
        "HIAGENT_APP_BASE_URL": f"http://127.0.0.1:{emulator_port}/api/proxy/api/v1",
        "REDIS_HOST": os.environ.get("REDIS_HOST", "127.0.0.1"),
        "REDIS_PORT": os.environ.get("REDIS_PORT", "6379"),
        # Keys of this run only: the Redis may be shared with other suites.
        "REDIS_NAMESPACE": database,
        "DASHBOARD_BUILD": "false",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    log = workdir / f"{label}-serve.log"
    product = Product(
        project=project,
        base_url=f"http://127.0.0.1:{api_port}",
        env=env,
        database=database,
        server_dsn=server_dsn,
        admin_username="admin",
        admin_password=admin_password,
        log=log,
    )
    binary = str(project / ".venv" / "bin" / SLUG)
    try:
        boot = subprocess.run(
            [binary, "bootstrap"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert boot.returncode == 0, boot.stdout + boot.stderr
        with (workdir / f"{label}-emulator.log").open("wb") as emulator_log:
            emulator = subprocess.Popen(
                [binary, "hiagent", "emulator", "--port", str(emulator_port)],
                cwd=project,
                env=env,
                stdout=emulator_log,
                stderr=subprocess.STDOUT,
            )
        product.processes.append(emulator)
        wait_for_port(emulator_port, emulator, 60)
        with log.open("wb") as serve_log:
            api = subprocess.Popen(
                [binary, "serve", "--host", "127.0.0.1", "--port", str(api_port)],
                cwd=project,
                env=env,
                stdout=serve_log,
                stderr=subprocess.STDOUT,
            )
        product.processes.append(api)
        _wait_ready(product, api, 90)
        print(
            f"[{label}] product serving at {product.base_url} after "
            f"{time.monotonic() - started:.0f} s (database {database})"
        )
        yield product
    finally:
        for process in reversed(product.processes):
            stop(process)
        with suppress(Exception):
            _execute(server_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def login(product: Product, username: str, password: str) -> str:
    """A bearer token for these credentials (fails the test on anything but 200)."""
    response = httpx.post(
        product.url(f"{API}/auth/login"),
        data={"username": username, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, (
        f"login {username!r}: {response.status_code} {response.text}"
    )
    token: str = response.json()["access_token"]
    return token


def create_user(product: Product, admin_token: str, username: str, role: str) -> str:
    """A new active user with `role`; returns its password."""
    password = "Usr-" + secrets.token_urlsafe(18)
    response = httpx.post(
        product.url(f"{API}/users"),
        json={
            "username": username,
            "email": f"{username}@example.com",
            "password": password,
            "role": role,
        },
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return password


def move_user_id(product: Product, username: str, new_id: int) -> None:
    """Give a freshly made user (nothing refers to it yet) another primary key."""
    _execute(
        asyncpg_dsn(product.env["DATABASE_URL"]),
        "UPDATE users SET id = $1 WHERE username = $2",
        new_id,
        username,
    )
