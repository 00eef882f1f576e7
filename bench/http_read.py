"""HTTP reads: our product's list and /auth/me against a bare FastAPI + asyncpg floor.

    uv run nox -s bench_http                               # about 5 minutes with the defaults
    uv run python bench/http_read.py --rounds 4 --seconds 3 --output table.md
    uv run python bench/http_read.py --project /path/to/rendered   # reuse a rendered project

Renders the template (default answers, no worker or dashboard) into a temporary folder (or
reuses `--project`), installs it, and runs itself again inside that project, where it:

1. creates a throwaway database on `--server-url` (loopback PostgreSQL) and runs the product's
   own `<slug> bootstrap` (migrations and the admin user), with `APP_ENV=prod` settings
   (secrets generated for the run, HiAgent endpoints pointing at a closed loopback port: no
   call here reaches HiAgent);
2. measures cold start: `<slug> serve --workers 1` from process start to the first 200 on
   `/health/live`, and the floor from process start to its first 200, once per round;
3. starts both servers for good, signs in as the admin through the API and creates 20 agent
   configurations through the API (`POST /api/v1/agent-configs`);
4. runs the cells, each side in turn for `--seconds` per round, the side that goes first
   alternating (ABAB): `GET /api/v1/agent-configs` and `GET /api/v1/auth/me` at 1, 16 and 64
   callers; then, for ours only, the list at 16 callers while 4 more callers sign in
   (`POST /api/v1/auth/login`, argon2) in a loop, against the same without the sign-ins;
5. prints a Markdown table (also to `--output FILE`): per cell and side, requests per second
   and p50/p99 over all rounds, and the ratio ours/floor (req/s and p50) as min/median/max
   over the rounds; beside it the load average, and the RSS of each server (its process tree)
   after the load; then stops everything and drops the database.

The floor (`bench/bare_floor.py`) is FastAPI with an asyncpg pool and no middleware, served by
uvicorn the same way, answering the same routes with the same JWT check and the same three
queries (user by id, page, count). The ratio is therefore what our stack (SQLAlchemy/SQLModel
sessions, middleware, Pydantic response models, logging, metrics) costs over that floor.

Load: one in-process asyncio client, each caller with its own keep-alive connection, looping
for a fixed time. By default (`--client raw`) a minimal HTTP/1.1 client on asyncio streams:
with 2 cores the client shares the machine with the server, and httpx costs several times more
CPU per request than the raw client, which lowers the figures of the faster side most
(`--client httpx` to compare). Loopback only; every load is bounded in time and stops by
itself; only the processes started here are stopped.

`--fft PATH` adds a third side: the backend folder of the official full-stack-fastapi-template
(sync SQLModel/psycopg sessions in FastAPI's threadpool), serving `GET /api/v1/items/` and
`GET /api/v1/users/me` with 20 items, in its own throwaway database; ratios are against the
floor too. To prepare it (its `main` needs Python 3.14; these edits make it run on 3.11):

    git clone https://github.com/fastapi/full-stack-fastapi-template   # or `fetch` it
    cd full-stack-fastapi-template/backend
    sed -i 's/requires-python = ">=3.14,<4.0"/requires-python = ">=3.11,<4.0"/' pyproject.toml
    uv venv -p 3.11 .venv && uv pip install -p .venv/bin/python --compile-bytecode -e .
    # app/api/deps.py: `except InvalidTokenError, ValidationError:` -> parenthesise the two;
    # app/models.py: quote the forward references, `list["Item"]` and `Optional["User"]`;
    # app/main.py: comment out `app.frontend("/", directory=FRONTEND_DIR)` (no built frontend).

With its defaults (SQLAlchemy pool of 5 + 10, 40 threadpool threads) it answers 500 after the
30 s pool timeout at 64 callers: such a round then lasts about 30 s longer than `--seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from rendered import log, run_in_project

FLOOR = Path(__file__).resolve().parent / "bare_floor.py"
CALLERS = (1, 16, 64)
CONFIGS = 20
LOGINS = 4
ADMIN = "admin"
FFT_USER = "bench@example.com"


def render_and_run(args: argparse.Namespace) -> int:
    """Render a project (unless `--project` names one), install it, and run inside it."""
    passed = [
        *("--rounds", str(args.rounds), "--seconds", str(args.seconds)),
        *("--client", args.client, "--server-url", args.server_url),
        *(("--output", str(args.output.resolve())) if args.output else ()),
        *(("--fft", str(args.fft.resolve())) if args.fft else ()),
    ]
    return run_in_project(__file__, "Bench Http", args.project, passed)


# --- inside: the client ----------------------------------------------------------------------


class HTTPStatusError(Exception):
    """A response other than 200."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class RawConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: the cheapest client there is."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "127.0.0.1", **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect (outside the timed part)."""
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def close(self) -> None:
        """Disconnect."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = ""
    ) -> bytes:
        """The body of a 200 answer; `HTTPStatusError` for any other status."""
        assert self.reader is not None
        assert self.writer is not None
        extra = f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n" if body else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            data = b"".join(p[:-2] for p in parts)
        else:
            data = await self.reader.readexactly(length)
        if status != 200:
            raise HTTPStatusError(status)
        return data


class HttpxConnection:
    """The same through an httpx.AsyncClient of its own (one connection per caller)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        httpx = importlib.import_module("httpx")
        self.client = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers=headers,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=60,
        )

    async def open(self) -> None:
        """Connected on first use."""

    async def close(self) -> None:
        """Disconnect."""
        await self.client.aclose()

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = ""
    ) -> bytes:
        """The body of a 200 answer; `HTTPStatusError` for any other status."""
        headers = {"Content-Type": content_type} if body else {}
        response = await self.client.request(method, path, content=body, headers=headers)
        if response.status_code != 200:
            raise HTTPStatusError(response.status_code)
        data: bytes = response.content
        return data


Connection = RawConnection | HttpxConnection
Call = Callable[[Connection], Awaitable[bytes]]


def get(path: str) -> Call:
    """A GET of `path`."""

    async def call(connection: Connection) -> bytes:
        return await connection.request("GET", path)

    return call


def login_call(password: str) -> Call:
    """A sign-in of the admin (a form post, argon2 on the server)."""
    body = urlencode({"username": ADMIN, "password": password}).encode()

    async def call(connection: Connection) -> bytes:
        return await connection.request(
            "POST", "/api/v1/auth/login", body, "application/x-www-form-urlencoded"
        )

    return call


@dataclass
class Side:
    """The latencies (ms) of one side of one cell in one round."""

    samples: list[float] = field(default_factory=list)
    seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0  # the server's CPU time (user + system, its process tree)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return len(self.samples) / self.seconds if self.seconds else 0.0


def quantile(samples: list[float], q: float) -> float:
    """Nearest-rank quantile (NaN without samples)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


async def load(
    port: int,
    headers: dict[str, str],
    call: Call,
    callers: int,
    seconds: float,
    client: str,
    background: tuple[Call, int] | None = None,
) -> Side:
    """`callers` callers, each on its own connection, calling in a loop for `seconds`.

    `background` (call, callers) run alongside for the same time, untimed (the sign-ins).
    """
    kind = RawConnection if client == "raw" else HttpxConnection
    side = Side()
    extra = background[1] if background else 0
    connections: list[Connection] = [kind(port, headers) for _ in range(callers + extra)]
    await asyncio.gather(*(c.open() for c in connections))
    try:
        for connection in connections[:callers]:  # a warm connection, a warm code path
            await call(connection)
        deadline = time.perf_counter() + seconds

        async def caller(connection: Connection, timed: Call, record: bool) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    await timed(connection)
                except HTTPStatusError as exc:
                    side.failures[f"HTTP {exc.status}" if record else f"login {exc.status}"] += 1
                    continue
                if record:
                    side.samples.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        behind = [
            asyncio.create_task(caller(c, background[0], False))
            for c in connections[callers:]
            if background
        ]
        await asyncio.gather(*(caller(c, call, True) for c in connections[:callers]))
        side.seconds = time.perf_counter() - started  # not waiting for the last sign-ins
        await asyncio.gather(*behind)
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    return side


# --- inside: the processes ----------------------------------------------------------------------


@dataclass
class Server:
    """How one side is started and what it answers where."""

    argv: list[str]
    health: str
    paths: dict[str, str]
    cwd: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def command(self, port: int) -> list[str]:
        """The command line, serving on `port`."""
        return [*self.argv, "--port", str(port)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _first_200(port: int, path: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering")
        connection = RawConnection(port, {})
        try:
            await connection.open()
            await connection.request("GET", path)
            return
        except (OSError, HTTPStatusError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.01)
        finally:
            await connection.close()
    raise TimeoutError(f"no 200 from port {port}{path} within 60 s")


def _tree_rss_kib(pid: int) -> int:
    """VmRSS of `pid` and its descendants (uvicorn may run the app in a child)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(x) for x in (task / "children").read_text().split()]
    return total


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants, from /proc.

    CPU per request is the figure that least depends on what else the machine is doing: req/s
    and latency fall when other work takes the cores, CPU per request hardly moves.
    """
    ticks, pending = 0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(x) for x in (task / "children").read_text().split()]
    return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def server(
    side: Server, env: dict[str, str], port: int
) -> AsyncIterator[tuple[asyncio.subprocess.Process, float]]:
    """Start `side`; yield it and the seconds to its first 200 on its health path."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *side.command(port),
        env=env,
        cwd=side.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await _first_200(port, side.health, process)
        yield process, time.perf_counter() - started
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- inside: the run ------------------------------------------------------------------------


@dataclass
class Cell:
    """One cell: its rounds, each with a result per side; ratios are against `baseline`."""

    name: str
    callers: int
    sides: tuple[str, ...]
    baseline: str
    rounds: list[dict[str, Side]] = field(default_factory=list)

    def order(self, number: int) -> tuple[str, ...]:
        """Who goes first turns each round (ABAB)."""
        shift = number % len(self.sides)
        return self.sides[shift:] + self.sides[:shift]


class Bench:
    """One run: a throwaway database, our server and the floor."""

    def __init__(self, args: argparse.Namespace, package: str) -> None:
        self.args = args
        self.package = package
        self.slug: str = importlib.import_module(f"{package}.core.project").PROJECT_SLUG
        self.asyncpg = importlib.import_module("asyncpg")
        self.database = f"http_bench_{secrets.token_hex(4)}"
        base = args.server_url.rsplit("/", 1)[0]
        self.dsn = f"{base}/{self.database}"
        self.jwt_secret = secrets.token_urlsafe(48)
        self.password = secrets.token_urlsafe(16)
        self.cells: list[Cell] = []
        self.names = ("ours", "floor", "fft") if args.fft else ("ours", "floor")
        self.cold: dict[str, list[float]] = {name: [] for name in self.names}
        self.rss: dict[str, int] = {}
        self.pids: dict[str, int] = {}

    @property
    def environment(self) -> dict[str, str]:
        """Production-like settings of our product, as environment variables."""
        closed = f"http://127.0.0.1:{_free_port()}"
        return {
            **os.environ,
            "APP_ENV": "prod",
            "DATABASE_URL": self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            "HIAGENT_JWT_SECRET": self.jwt_secret,
            "HIAGENT_ADMIN_USERNAME": ADMIN,
            "HIAGENT_ADMIN_PASSWORD": self.password,
            "VOLC_ACCESSKEY": "bench-" + secrets.token_hex(8),
            "VOLC_SECRETKEY": "bench-" + secrets.token_hex(8),
            "HIAGENT_TOP_ENDPOINT": closed,
            "HIAGENT_APP_BASE_URL": f"{closed}/api/proxy/api/v1",
            # The default level: one JSON access line per request, written to /dev/null.
            "LOG_LEVEL": "INFO",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "",
            "FLOOR_DSN": self.dsn,
            "FLOOR_SECRET": self.jwt_secret,
            "FLOOR_ISSUER": self.slug,
            # full-stack-fastapi-template (`--fft`): its own database
            "PROJECT_NAME": "FFT bench",
            "SECRET_KEY": self.jwt_secret,
            "FIRST_SUPERUSER": FFT_USER,
            "FIRST_SUPERUSER_PASSWORD": self.password,
            "ENVIRONMENT": "production",
            "DATABASE_URL_FFT": f"{self.dsn}_fft",
        }

    def servers(self) -> dict[str, Server]:
        """How each side is started."""
        slug = str(Path(sys.executable).parent / self.slug)
        ours = {"list": "/api/v1/agent-configs", "me": "/api/v1/auth/me"}
        serve = [slug, "serve", "--workers", "1", "--host", "127.0.0.1"]
        servers = {
            "ours": Server(serve, "/health/live", ours),
            "floor": Server([sys.executable, str(FLOOR)], "/health/live", ours),
        }
        if self.args.fft:
            python = str(self.args.fft / ".venv" / "bin" / "python")
            uvicorn = [python, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
            servers["fft"] = Server(
                [*uvicorn, "--log-level", "info"],  # its access lines, as `fastapi run`
                "/api/v1/utils/health-check/",
                {"list": "/api/v1/items/?skip=0&limit=50", "me": "/api/v1/users/me"},
                cwd=self.args.fft,
            )
        return servers

    @property
    def fft_environment(self) -> dict[str, str]:
        """The settings of full-stack-fastapi-template."""
        env = self.environment
        return {**env, "DATABASE_URL": env["DATABASE_URL_FFT"]}

    async def run(self) -> None:
        """Create, seed, measure, drop."""
        admin = await self.asyncpg.connect(self.args.server_url)
        await admin.execute(f'CREATE DATABASE "{self.database}"')
        if self.args.fft:
            await admin.execute(f'CREATE DATABASE "{self.database}_fft"')
        await admin.close()
        try:
            env = self.environment
            log("bootstrap: migrations and the admin user")
            await asyncio.to_thread(
                subprocess.run,
                [str(Path(sys.executable).parent / self.slug), "bootstrap"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            if self.args.fft:
                log("full-stack-fastapi-template: migrations and its first superuser")
                python = str(self.args.fft / ".venv" / "bin" / "python")
                for step in (["-m", "alembic", "upgrade", "head"], ["app/initial_data.py"]):
                    await asyncio.to_thread(
                        subprocess.run,
                        [python, *step],
                        env=self.fft_environment,
                        cwd=self.args.fft,
                        check=True,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
            await self.cold_starts()
            servers = self.servers()
            ports = {name: _free_port() for name in self.names}
            async with contextlib.AsyncExitStack() as stack:
                processes = {}
                for name in self.names:
                    env = self.fft_environment if name == "fft" else self.environment
                    processes[name], _ = await stack.enter_async_context(
                        server(servers[name], env, ports[name])
                    )
                    self.pids[name] = processes[name].pid
                token = await self.seed(ports["ours"])
                signed_in = {"Authorization": f"Bearer {token}"}
                servers["ours"].headers = servers["floor"].headers = signed_in
                if self.args.fft:
                    fft_token = await self.seed_fft(ports["fft"])
                    servers["fft"].headers = {"Authorization": f"Bearer {fft_token}"}
                await self.measure(servers, ports)
                self.rss = {name: _tree_rss_kib(p.pid) for name, p in processes.items()}
        finally:
            admin = await self.asyncpg.connect(self.args.server_url)
            for database in (self.database, f"{self.database}_fft"):
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()

    async def cold_starts(self) -> None:
        """Process start to first 200, each side once per round, who goes first turning."""
        servers = self.servers()
        cell = Cell("cold", 1, self.names, "floor")
        for number in range(self.args.rounds):
            log(f"cold start, round {number + 1}")
            for name in cell.order(number):
                port = _free_port()
                env = self.fft_environment if name == "fft" else self.environment
                async with server(servers[name], env, port) as (_, seconds):
                    self.cold[name].append(seconds)

    async def seed(self, port: int) -> str:
        """Sign in as the admin and create the configurations, through our API."""
        connection = RawConnection(port, {})
        await connection.open()
        try:
            answer = await login_call(self.password)(connection)
            token: str = json.loads(answer)["access_token"]
            authorised = RawConnection(port, {"Authorization": f"Bearer {token}"})
            await authorised.open()
            for number in range(CONFIGS):
                body = {
                    "name": f"bench-agent-{number:02d}",
                    "app_key": f"app-bench-{secrets.token_hex(8)}",
                    "description": f"Benchmark configuration number {number}",
                    "variables": {"tone": "brief"},
                }
                with contextlib.suppress(HTTPStatusError):  # 201 is not 200
                    await authorised.request(
                        "POST",
                        "/api/v1/agent-configs",
                        json.dumps(body).encode(),
                        "application/json",
                    )
            listed = json.loads(await authorised.request("GET", "/api/v1/agent-configs"))
            await authorised.close()
            if listed["total"] != CONFIGS:
                raise RuntimeError(f"{listed['total']} configurations created, not {CONFIGS}")
        finally:
            await connection.close()
        return token

    async def seed_fft(self, port: int) -> str:
        """Sign in to full-stack-fastapi-template and create as many items."""
        connection = RawConnection(port, {})
        await connection.open()
        body = urlencode({"username": FFT_USER, "password": self.password}).encode()
        try:
            answer = await connection.request(
                "POST", "/api/v1/login/access-token", body, "application/x-www-form-urlencoded"
            )
        finally:
            await connection.close()
        token: str = json.loads(answer)["access_token"]
        authorised = RawConnection(port, {"Authorization": f"Bearer {token}"})
        await authorised.open()
        try:
            for number in range(CONFIGS):
                item = {"title": f"bench-item-{number:02d}", "description": f"Item {number}"}
                await authorised.request(
                    "POST", "/api/v1/items/", json.dumps(item).encode(), "application/json"
                )
        finally:
            await authorised.close()
        return token

    async def measure(self, servers: dict[str, Server], ports: dict[str, int]) -> None:
        """Every cell, the sides taking turns to go first (ABAB)."""
        args = self.args
        for name in ("list", "me"):
            for callers in CALLERS:
                log(f"{name} at {callers} callers")
                cell = Cell(name, callers, self.names, "floor")
                for number in range(args.rounds):
                    results = {}
                    for side in cell.order(number):
                        before = _tree_cpu_seconds(self.pids[side])
                        results[side] = await load(
                            ports[side],
                            servers[side].headers,
                            get(servers[side].paths[name]),
                            callers,
                            args.seconds,
                            args.client,
                        )
                        results[side].cpu_seconds = _tree_cpu_seconds(self.pids[side]) - before
                    cell.rounds.append(results)
                self.cells.append(cell)
        log(f"list at 16 callers while {LOGINS} sign in, ours only")
        cell = Cell(f"list + {LOGINS} logins", 16, ("with logins", "without"), "without")
        logins = (login_call(self.password), LOGINS)
        ours = servers["ours"]
        for number in range(args.rounds):
            results = {}
            for side in cell.order(number):
                results[side] = await load(
                    ports["ours"],
                    ours.headers,
                    get(ours.paths["list"]),
                    16,
                    args.seconds,
                    args.client,
                    background=logins if side == "with logins" else None,
                )
            cell.rounds.append(results)
        self.cells.append(cell)

    def report(self, facts: dict[str, str]) -> str:
        """The Markdown table."""
        lines = [
            "| cell | callers | side | requests | req/s | p50 ms | p99 ms "
            "| req/s ratio min/med/max | p50 ratio min/med/max | CPU ms/req | CPU ratio |",
            "|---|---:|---|---:|---:|---:|---:|---|---|---:|---:|",
        ]

        def spread(values: list[float]) -> str:
            return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"

        for cell in self.cells:
            base = cell.baseline
            for side in cell.sides:
                samples = [s for r in cell.rounds for s in r[side].samples]
                seconds = sum(r[side].seconds for r in cell.rounds)
                failures: Counter[str] = Counter()
                for r in cell.rounds:
                    failures.update(r[side].failures)
                failed = ", ".join(f"{n} {kind}" for kind, n in failures.items())
                cpu = sum(r[side].cpu_seconds for r in cell.rounds) * 1000
                cpu_per = cpu / len(samples) if samples and cpu else float("nan")
                base_samples = sum(len(r[base].samples) for r in cell.rounds)
                base_cpu = sum(r[base].cpu_seconds for r in cell.rounds) * 1000
                base_per = base_cpu / base_samples if base_samples and base_cpu else float("nan")
                cpu_ratio = f"{cpu_per / base_per:.2f}" if side != base and base_cpu else ""
                cpu_text = f"{cpu_per:.2f}" if cpu else ""  # not measured for the logins cell
                ratios = ("", "")
                if side != base:
                    rate = [r[side].rate / r[base].rate for r in cell.rounds if r[base].rate]
                    p50 = [
                        quantile(r[side].samples, 0.5) / quantile(r[base].samples, 0.5)
                        for r in cell.rounds
                    ]
                    ratios = (spread(rate), spread(p50)) if rate else ("", "")
                lines.append(
                    f"| {cell.name} | {cell.callers} | {side} | {len(samples)}"
                    f"{f' (failed: {failed})' if failed else ''} "
                    f"| {len(samples) / seconds if seconds else 0:.0f} "
                    f"| {quantile(samples, 0.5):.2f} | {quantile(samples, 0.99):.2f} "
                    f"| {ratios[0]} | {ratios[1]} | {cpu_text} | {cpu_ratio} |"
                )
        for name in self.names:
            times = self.cold[name]
            ratio = [a / b for a, b in zip(times, self.cold["floor"], strict=True)]
            lines.append(
                f"| cold start s | | {name} | {len(times)} | "
                f"| {statistics.median(times):.2f} | {max(times):.2f} | "
                f"| {'' if name == 'floor' else spread(ratio)} |"
            )
        lines.append("")
        lines.append("Ratios are side/floor per round (for the logins cell: with/without).")
        lines.append(
            "CPU ms/req: the server's own CPU time (its process tree, not PostgreSQL's) over the "
            "requests it answered; CPU ratio is against the baseline side, all rounds together. "
            "It moves least when other work shares the machine."
        )
        lines.append("Cold start: p50 column is the median, p99 column the slowest, in seconds.")
        lines.append("")
        facts["RSS after the load"] = ", ".join(
            f"{name} {kib / 1024:.0f} MiB" for name, kib in self.rss.items()
        )
        facts["load average at the end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        lines += [f"- {name}: {value}" for name, value in facts.items()]
        return "\n".join(lines)


def _cpu() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


async def bench_inside(args: argparse.Namespace, package: str) -> int:
    """Run the whole measurement inside the rendered project."""
    facts = {
        "machine": f"{_cpu()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "client": f"{args.client}, one keep-alive connection per caller, in this process",
        "rounds": f"{args.rounds} x {args.seconds:g} s per side and cell",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    if args.fft:
        args.fft = args.fft.resolve()
        facts["fft"] = f"full-stack-fastapi-template backend at {args.fft} (items, users/me)"
    bench = Bench(args, package)
    started = time.perf_counter()
    await bench.run()
    facts["whole run"] = f"{time.perf_counter() - started:.0f} s"
    report = bench.report(facts)
    print("\n" + report)
    if args.output:
        args.output.write_text(report + "\n", encoding="utf-8")
        log(f"written to {args.output}")
    return 0


def main() -> int:
    """Parse the command line; render and re-run, or measure when already inside."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="ABAB alternations per cell")
    parser.add_argument("--seconds", type=float, default=3.0, help="per side, cell and round")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a database on the server to use (only to create and drop the bench database)",
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown table here")
    parser.add_argument("--project", type=Path, help="a project rendered earlier, to reuse")
    parser.add_argument("--fft", type=Path, help="a full-stack-fastapi-template backend folder")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        sys.path.insert(0, str(Path.cwd() / "src"))
        (agents,) = Path("src").glob("*/modules/agents")
        return asyncio.run(bench_inside(args, package=agents.parent.parent.name))
    return render_and_run(args)


if __name__ == "__main__":
    raise SystemExit(main())
