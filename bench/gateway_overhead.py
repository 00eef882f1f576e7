"""Gateway overhead: the latency our gateway adds to a HiAgent call, against the bare SDK.

    uv run nox -s bench                                # about 8 minutes
    uv run python bench/gateway_overhead.py --project /path/to/rendered --output table.md

Renders the template (default answers, no worker or dashboard) into a temporary folder (or
reuses `--project`), installs it, and runs itself again inside that project, where it:

1. creates a throwaway database on `--server-url` (loopback PostgreSQL), migrates it and adds
   one agent configuration and one user;
2. starts the HiAgent emulator in its own process on a loopback port, answering every chat in
   `--upstream-ms` (default 200 ms, in `--chunks` pieces) like a quick model would: the
   machine is then not saturated by the emulator at 16 callers, and the difference between
   the layers is what each adds (`--upstream-ms 0` measures throughput limits instead);
3. times one chat call (create a conversation, stream the answer to its end) three ways, at
   each concurrency (1, 16, 64), whole answers ("blocking") and streamed answers:
   - SDK: the bare HiAgent SDK (`ChatService`) calling the emulator;
   - Gateway: `Gateway.invoke` / `Gateway.stream` by configuration name, in process (limits,
     breaker, retry loop, metrics, span, request log, the configuration read from PostgreSQL);
   - HTTP: `POST /api/v1/agents/{name}/invoke` and `/stream` on the app served by uvicorn in
     its own process (adds the HTTP hop, sign-in check, JSON or SSE encoding);
4. prints a Markdown table (also to `--output FILE`), stops everything and drops the database.

Each cell (mode, concurrency) makes a bounded number of calls per layer (`--calls-per-worker`
per concurrent caller, at least `--min-calls`) within `--cell-seconds`, the layers taking turns
in `--rounds` short rounds so that load from elsewhere on the machine hits them alike.
Loopback only; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rendered import log, run_in_project

AGENT = "bench-bot"
APP_KEY = "app-bench"
ACCESS_KEY = "bench-access-key"
SECRET_KEY = "bench-secret-key"  # noqa: S105 - signs requests to the local emulator only
CONCURRENCY = (1, 16, 64)
MODES = ("blocking", "streaming")


def render_and_run(args: argparse.Namespace) -> int:
    """Render a project (unless `--project` names one), install it, and run inside it."""
    passed = [
        *("--calls-per-worker", str(args.calls_per_worker)),
        *("--min-calls", str(args.min_calls)),
        *("--cell-seconds", str(args.cell_seconds), "--rounds", str(args.rounds)),
        *("--upstream-ms", str(args.upstream_ms), "--chunks", str(args.chunks)),
        *("--server-url", args.server_url),
        *(("--output", str(args.output.resolve())) if args.output else ()),
    ]
    return run_in_project(__file__, "Bench Gateway", args.project, passed)


# --- inside: measure -----------------------------------------------------------------------


@dataclass
class Cell:
    """Latencies (ms) of one layer at one concurrency and mode."""

    layer: str
    mode: str
    concurrency: int
    samples: list[float] = field(default_factory=list)
    seconds: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile of the samples."""
        ordered = sorted(self.samples)
        return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]

    @property
    def rate(self) -> float:
        """Calls per second."""
        return len(self.samples) / self.seconds if self.seconds else 0.0


Call = Callable[[], Awaitable[None]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_for_port(port: int, process: asyncio.subprocess.Process, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {within:g} s")


@contextlib.asynccontextmanager
async def _process(
    command: list[str], env: dict[str, str], port: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await _wait_for_port(port, process, within=30)
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _run_round(cell: Cell, call: Call, calls: int, seconds: float) -> None:
    # `calls` calls by `cell.concurrency` callers, stopping early after `seconds`.
    deadline = time.perf_counter() + seconds
    remaining = calls

    async def caller() -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            try:
                await call()
            except Exception as exc:
                status = getattr(getattr(exc, "response", None), "status_code", None)
                cell.failures[f"HTTP {status}" if status else type(exc).__name__] += 1
                continue
            cell.samples.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(cell.concurrency)))
    cell.seconds += time.perf_counter() - started


async def _measure(cells: list[Cell], calls: list[Call], args: argparse.Namespace) -> None:
    """Warm up, then alternate the layers in short rounds so drifting load hits them alike."""
    concurrency = cells[0].concurrency
    for call in calls:
        for _ in range(2 * concurrency):  # connections, caches and code paths
            await call()
    total = max(args.min_calls, args.calls_per_worker * concurrency)
    per_round = -(-total // args.rounds)
    seconds = args.cell_seconds / args.rounds
    for round_number in range(args.rounds):
        shift = round_number % len(cells)  # each layer goes first in turn
        for cell, call in [*zip(cells, calls, strict=True)][shift:] + [
            *zip(cells, calls, strict=True)
        ][:shift]:
            await _run_round(cell, call, per_round, seconds)


class Bench:
    """One run: a throwaway database, an emulator process, an app process."""

    def __init__(self, args: argparse.Namespace, package: str) -> None:
        self.args = args
        self.package = package
        self.asyncpg = importlib.import_module("asyncpg")
        self.database = f"gateway_bench_{secrets.token_hex(4)}"
        base = args.server_url.rsplit("/", 1)[0]
        self.url = f"{base}/{self.database}".replace("postgresql://", "postgresql+asyncpg://", 1)
        self.emulator_port = _free_port()
        self.app_port = _free_port()
        self.jwt_secret = secrets.token_urlsafe(48)
        self.cells: list[Cell] = []

    def module(self, name: str) -> Any:
        """A module of the generated package."""
        return importlib.import_module(f"{self.package}.{name}")

    @property
    def environment(self) -> dict[str, str]:
        """Settings of the app, as environment variables."""
        top = f"http://127.0.0.1:{self.emulator_port}"
        return {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": self.url,
            "HIAGENT_JWT_SECRET": self.jwt_secret,
            "VOLC_ACCESSKEY": ACCESS_KEY,
            "VOLC_SECRETKEY": SECRET_KEY,
            "HIAGENT_TOP_ENDPOINT": top,
            "HIAGENT_APP_BASE_URL": f"{top}/api/proxy/api/v1",
            "LOG_LEVEL": "WARNING",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        }

    async def run(self) -> None:
        """Create, measure, drop."""
        admin = await self.asyncpg.connect(self.args.server_url)
        await admin.execute(f'CREATE DATABASE "{self.database}"')
        await admin.close()
        try:
            await asyncio.to_thread(self.module("core.migrations").upgrade, self.url)
            emulator = [
                sys.executable,
                "-m",
                f"{self.package}.hiagent.emulator",
                *("--port", str(self.emulator_port)),
                *("--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY),
            ]
            async with _process(emulator, self.environment, self.emulator_port):
                await self.answer_slowly()
                await self.measure()
        finally:
            admin = await self.asyncpg.connect(self.args.server_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            await admin.close()

    async def answer_slowly(self) -> None:
        """Every chat takes `--upstream-ms`, its first piece arriving after a quarter of it."""
        httpx = importlib.import_module("httpx")
        upstream_s = self.args.upstream_ms / 1000
        scenario = {
            "chunks": self.args.chunks,
            "first_token_seconds": upstream_s / 4,
            "latency_seconds": upstream_s,
        }
        async with httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{self.emulator_port}/_emulator/scenarios/*"
            (await http.put(url, json=scenario)).raise_for_status()

    async def measure(self) -> None:
        """All layers, interleaved cell by cell so drifting load hits them alike."""
        os.environ.update(self.environment)
        settings = self.module("core.settings").Settings(_env_file=None)
        app = self.module("app").create_app(settings)
        async with app.router.lifespan_context(app):
            token = await self.seed(app)
            server = [
                sys.executable,
                "-m",
                "uvicorn",
                f"{self.package}.app:create_app",
                "--factory",
                *("--host", "127.0.0.1", "--port", str(self.app_port)),
                *("--log-level", "warning", "--no-access-log"),
            ]
            async with (
                _process(server, self.environment, self.app_port),
                self.sdk_calls() as sdk,
                self.http_calls(token) as http,
            ):
                layers = {
                    "SDK": sdk,
                    "Gateway": self.gateway_calls(app.state.gateway),
                    "HTTP": http,
                }
                for mode in MODES:
                    for concurrency in CONCURRENCY:
                        log(f"{mode} with {concurrency} concurrent callers")
                        cells = [Cell(layer, mode, concurrency) for layer in layers]
                        await _measure(cells, [calls[mode] for calls in layers.values()], self.args)
                        self.cells += cells

    async def seed(self, app: Any) -> str:
        """The agent configuration and a signed-in user's token."""
        agent_config = self.module("modules.agents.models").AgentConfig
        users = self.module("modules.users.models")
        security = self.module("core.security")
        async with app.state.database.session() as session:
            session.add(agent_config(name=AGENT, app_key=APP_KEY, max_concurrency=1000))
            user = users.User(
                username="bench",
                email="bench@example.com",
                password_hash=security.hash_password(secrets.token_urlsafe(16)),
                role=users.Role.VIEWER,
            )
            session.add(user)
            await session.commit()
            await session.refresh(user)
        token: str = security.create_access_token(
            subject=str(user.id),
            role=user.role,
            secret=self.jwt_secret,
            expires_minutes=120,
            username=user.username,
        )
        return token

    @contextlib.asynccontextmanager
    async def sdk_calls(self) -> AsyncIterator[dict[str, Call]]:
        """The bare SDK: a conversation, then the streamed answer read to its end."""
        chat_module = importlib.import_module("hiagent_api.chat")
        types = importlib.import_module("hiagent_api.chat_types")
        chat = chat_module.ChatService(endpoint=f"http://127.0.0.1:{self.emulator_port}")
        chat.set_ak(ACCESS_KEY)
        chat.set_sk(SECRET_KEY)
        chat.set_app_base_url(self.environment["HIAGENT_APP_BASE_URL"])

        async def call() -> None:
            created = await chat.acreate_conversation(
                APP_KEY, types.CreateConversationRequest(app_key=APP_KEY, inputs={}, user_id="u")
            )
            request = types.ChatRequest(
                app_key=APP_KEY,
                app_conversation_id=created.conversation.app_conversation_id,
                query="hi",
                response_mode="streaming",
                user_id="u",
            )
            async for _ in chat.achat_streaming(APP_KEY, request):
                pass

        try:
            yield {"blocking": call, "streaming": call}
        finally:
            await chat.async_http_client.aclose()
            chat.http_client.close()

    def gateway_calls(self, gateway: Any) -> dict[str, Call]:
        """The gateway's Python API, by configuration name."""

        async def invoke() -> None:
            await gateway.invoke(AGENT, "hi", user_id="bench@example.com", endpoint="bench")

        async def stream() -> None:
            answer = await gateway.stream(AGENT, "hi", user_id="bench@example.com")
            async with answer:
                async for _ in answer:
                    pass

        return {"blocking": invoke, "streaming": stream}

    @contextlib.asynccontextmanager
    async def http_calls(self, token: str) -> AsyncIterator[dict[str, Call]]:
        """The HTTP API of the app process."""
        httpx = importlib.import_module("httpx")
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them: reusing one
        # it has just closed was a ReadError at 64 callers.
        limits = httpx.Limits(
            max_connections=200, max_keepalive_connections=200, keepalive_expiry=4.0
        )
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.app_port}/api/v1/agents/{AGENT}",
            headers={"Authorization": f"Bearer {token}"},
            limits=limits,
            timeout=60,
        ) as http:

            async def invoke() -> None:
                response = await http.post("/invoke", json={"query": "hi"})
                response.raise_for_status()

            async def stream() -> None:
                async with http.stream("POST", "/stream", json={"query": "hi"}) as response:
                    response.raise_for_status()
                    async for _ in response.aiter_bytes():
                        pass

            yield {"blocking": invoke, "streaming": stream}

    def report(self, facts: dict[str, str]) -> str:
        """The Markdown table: each layer beside the SDK of the same mode and concurrency."""
        lines = [
            "| mode | callers | layer | calls | calls/s | p50 ms | p99 ms "
            "| added p50 ms | added p99 ms | p50 ratio |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        baseline = {(c.mode, c.concurrency): c for c in self.cells if c.layer == "SDK"}
        for cell in self.cells:
            sdk = baseline[(cell.mode, cell.concurrency)]
            p50, p99 = cell.quantile(0.5), cell.quantile(0.99)
            added = (
                ("", "", "")
                if cell is sdk
                else (
                    f"{p50 - sdk.quantile(0.5):+.2f}",
                    f"{p99 - sdk.quantile(0.99):+.2f}",
                    f"{p50 / sdk.quantile(0.5):.2f}",
                )
            )
            failed = ", ".join(f"{count} {kind}" for kind, count in cell.failures.items())
            errors = f" (failed: {failed})" if failed else ""
            lines.append(
                f"| {cell.mode} | {cell.concurrency} | {cell.layer} | {len(cell.samples)}{errors} "
                f"| {cell.rate:.0f} | {p50:.2f} | {p99:.2f} | {' | '.join(added)} |"
            )
        lines.append("")
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
        "emulated answer": f"{args.upstream_ms} ms in {args.chunks} pieces",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
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
    parser.add_argument("--calls-per-worker", type=int, default=60)
    parser.add_argument("--min-calls", type=int, default=60)
    parser.add_argument("--cell-seconds", type=float, default=15.0, help="time limit per cell")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the layers")
    parser.add_argument("--upstream-ms", type=int, default=200, help="emulated answer time")
    parser.add_argument("--chunks", type=int, default=4, help="pieces of each answer")
    parser.add_argument(
        "--server-url",
        default=os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a database on the server to use (only to create and drop the bench database)",
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown table here")
    parser.add_argument("--project", type=Path, help="a project rendered earlier, to reuse")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        sys.path.insert(0, str(Path.cwd() / "src"))
        (gateway,) = Path("src").glob("*/modules/gateway")
        return asyncio.run(bench_inside(args, package=gateway.parent.parent.name))
    return render_and_run(args)


if __name__ == "__main__":
    raise SystemExit(main())
