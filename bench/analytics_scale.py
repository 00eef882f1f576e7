"""Analytics at scale: millions of request-log rows, read through the generated API.

    uv run nox -s bench_analytics                      # 10 million rows, about 4 minutes
    uv run python bench/analytics_scale.py --rows 1000000 --output results.md

Renders the template (default answers, no worker or dashboard) into a temporary folder,
installs it, and runs itself again inside that project, where it:

1. creates a throwaway database on `--server-url` (loopback PostgreSQL, user postgres),
   migrates it, and loads the rows with `generate_series` (two connections, secondary
   indexes built afterwards);
2. rolls the rows up with the recorder's own SQL (`rollup_upsert_sql`), day by day;
3. times the analytics endpoints through the app in-process (httpx, a viewer's token,
   real PostgreSQL), and the same summaries computed straight from the raw rows;
4. times the recorder writing a burst of calls into the loaded tables;
5. prints a Markdown table (also to `--output FILE` if given), then drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import platform
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rendered import log, run_in_project

AGENTS = 20
LOAD_CHUNK = 500_000

# Statuses by share of calls; durations are log-normal (median ~1.3 s, p99 ~11 s).
LOAD_SQL = """
INSERT INTO request_logs (correlation_id, endpoint, agent_config_id, user_id, query, status,
    error_type, duration_ms, tokens_in, tokens_out, conversation_id, "timestamp")
SELECT md5(g::text), '/api/v1/agents/{name_or_id}/invoke',
    1 + floor($3::int * power(random(), 2))::int,
    'user' || (g % 5000) || '@example.com',
    'How do I reset the password of my account? (question ' || g || ')',
    s.status,
    CASE s.status WHEN 'error' THEN 'upstream_error' WHEN 'timeout' THEN 'first_token_timeout'
        WHEN 'rejected' THEN 'breaker_open' END,
    least(exp(7.2 + 0.9 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())), 600000)::int,
    (20 + random() * 2000)::int, (random() * 1500)::int,
    CASE WHEN g % 3 = 0 THEN md5('conversation' || g / 3) END,
    now() - make_interval(secs => $4::float8 * (1 - g::float8 / $5::int))
FROM generate_series($1::int, $2::int) AS g
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN abs(hashint4(g) % 1000) < 930 THEN 'success'
        WHEN abs(hashint4(g) % 1000) < 960 THEN 'error'
        WHEN abs(hashint4(g) % 1000) < 980 THEN 'timeout'
        WHEN abs(hashint4(g) % 1000) < 990 THEN 'rejected'
        ELSE 'cancelled' END AS status
) AS s
"""
# The summary an analyst would write without roll-ups: totals, by agent, by status.
RAW_SUMMARY_SQL = """
SELECT agent_config_id, status, count(*), sum(tokens_in), sum(tokens_out),
    percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms)
FROM request_logs WHERE "timestamp" >= $1 AND "timestamp" < $2 {agent}
GROUP BY GROUPING SETS ((), (agent_config_id), (status))
"""


def render_and_run(args: argparse.Namespace) -> int:
    """Render a project (unless `--project` names one), install it, and run inside it."""
    passed = [
        *("--rows", str(args.rows), "--days", str(args.days)),
        *("--runs", str(args.runs), "--raw-runs", str(args.raw_runs)),
        *("--server-url", args.server_url),
        *(("--output", str(args.output.resolve())) if args.output else ()),
    ]
    return run_in_project(__file__, "Bench Analytics", args.project, passed)


# --- inside: load, roll up, measure ----------------------------------------------------------


@dataclass
class Timing:
    """Latencies of one query, in milliseconds."""

    name: str
    samples: list[float]
    raw_samples: list[float] | None = None
    note: str = ""

    @staticmethod
    def quantile(samples: list[float], q: float) -> float:
        """Nearest-rank quantile."""
        ordered = sorted(samples)
        return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


async def _timed(call: Callable[[], Awaitable[Any]], runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


class Bench:
    """One run against one throwaway database."""

    def __init__(self, args: argparse.Namespace, package: str) -> None:
        self.args = args
        self.package = package
        self.database = f"analytics_bench_{secrets.token_hex(4)}"
        self.asyncpg = importlib.import_module("asyncpg")
        self.server_dsn = args.server_url
        base = args.server_url.rsplit("/", 1)[0]
        self.dsn = f"{base}/{self.database}"
        self.url = self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        self.timings: list[Timing] = []
        self.facts: dict[str, str] = {}

    def module(self, name: str) -> Any:
        """A module of the generated package."""
        return importlib.import_module(f"{self.package}.{name}")

    async def run(self) -> None:
        """Create, load, measure, drop."""
        admin = await self.asyncpg.connect(self.server_dsn)
        await admin.execute(f'CREATE DATABASE "{self.database}"')
        await admin.close()
        try:
            await asyncio.to_thread(self.module("core.migrations").upgrade, self.url)
            await self.load()
            await self.roll_up()
            await self.measure()
        finally:
            admin = await self.asyncpg.connect(self.server_dsn)
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            await admin.close()

    async def load(self) -> None:
        """Insert the rows with two connections, then build the secondary indexes."""
        rows, span_s = self.args.rows, self.args.days * 86400
        connection = await self.asyncpg.connect(self.dsn)
        await connection.execute(
            "INSERT INTO agent_configs (name, description, config_type, app_key, dataset_ids, "
            "variables, enabled, max_concurrency, first_token_timeout_s, total_timeout_s, version) "
            "SELECT 'bench-agent-' || lpad(n::text, 2, '0'), '', 'agent', 'key-' || n, '[]', '{}', "
            "true, 8, 30, 120, 1 FROM generate_series(1, $1::int) AS n",
            AGENTS,
        )
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'request_logs' "
            "AND indexname <> 'request_logs_pkey'"
        )
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        # The rows reference existing configurations by construction: skip per-row FK checks.
        await connection.execute("ALTER TABLE request_logs DISABLE TRIGGER ALL")
        started = time.perf_counter()
        chunks = [
            (first, min(first + LOAD_CHUNK - 1, rows)) for first in range(1, rows + 1, LOAD_CHUNK)
        ]

        async def loader() -> None:
            worker = await self.asyncpg.connect(self.dsn)
            await worker.execute("SET synchronous_commit = off")
            while chunks:
                first, last = chunks.pop(0)
                await worker.execute(LOAD_SQL, first, last, AGENTS, float(span_s), rows)
            await worker.close()

        await asyncio.gather(loader(), loader())
        loaded = time.perf_counter() - started
        log(f"loaded {rows:,} rows in {loaded:.0f} s; building indexes")
        await connection.execute("ALTER TABLE request_logs ENABLE TRIGGER ALL")
        started = time.perf_counter()
        for index in indexes:
            await connection.execute(index["indexdef"])
        indexed = time.perf_counter() - started
        await connection.execute("VACUUM ANALYZE request_logs")
        size = await connection.fetchval(
            "SELECT pg_size_pretty(pg_total_relation_size('request_logs'))"
        )
        await connection.close()
        self.facts["load"] = f"{rows:,} rows in {loaded:.0f} s, indexes in {indexed:.0f} s"
        self.facts["request_logs size"] = size

    async def roll_up(self) -> None:
        """Roll the rows up day by day with the recorder's statement, two days at a time."""
        rollups = self.module("modules.analytics.rollups")
        statement = rollups.rollup_upsert_sql(
            '(SELECT * FROM request_logs WHERE "timestamp" >= $1 AND "timestamp" < $2) AS day_rows'
        )
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        days = [today - timedelta(days=n) for n in range(-1, self.args.days + 2)]
        started = time.perf_counter()

        async def roller() -> None:
            connection = await self.asyncpg.connect(self.dsn)
            await connection.execute("SET work_mem = '64MB'")
            while days:
                day = days.pop(0)
                await connection.execute(statement, day, day + timedelta(days=1))
            await connection.close()

        await asyncio.gather(roller(), roller())
        elapsed = time.perf_counter() - started
        connection = await self.asyncpg.connect(self.dsn)
        await connection.execute("VACUUM ANALYZE request_log_rollups")
        counts = await connection.fetch(
            "SELECT grain, count(*) AS n FROM request_log_rollups GROUP BY grain ORDER BY grain"
        )
        size = await connection.fetchval(
            "SELECT pg_size_pretty(pg_total_relation_size('request_log_rollups'))"
        )
        await connection.close()
        self.facts["roll-up"] = f"{elapsed:.0f} s"
        self.facts["request_log_rollups rows"] = ", ".join(
            f"{row['grain']} {row['n']:,}" for row in counts
        )
        self.facts["request_log_rollups size"] = size
        log(f"rolled up in {elapsed:.0f} s: {self.facts['request_log_rollups rows']}")

    async def measure(self) -> None:
        """Time every query through the API; summaries also straight from the raw rows."""
        httpx = importlib.import_module("httpx")
        settings = self.module("core.settings").Settings(
            _env_file=None,
            database_url=self.url,
            hiagent_jwt_secret=secrets.token_urlsafe(48),
            log_level="WARNING",
        )
        app = self.module("app").create_app(settings)
        connection = await self.asyncpg.connect(self.dsn)
        user_id = await connection.fetchval(
            "INSERT INTO users (username, email, password_hash, role, active, failed_logins) "
            "VALUES ('bench', 'bench@example.com', '-', 'viewer', true, 0) RETURNING id"
        )
        token = self.module("core.security").create_access_token(
            subject=str(user_id), role="viewer", secret=settings.jwt_secret(), expires_minutes=60
        )
        now = datetime.now(UTC)
        deep = now - timedelta(days=min(60, self.args.days * 2 // 3))
        last_id = await connection.fetchval("SELECT max(id) FROM request_logs")
        cursor = self.module("modules.analytics.service").encode_cursor(deep, last_id)
        agent = {"agent": "bench-agent-05"}
        queries: list[tuple[str, str, dict[str, str], tuple[datetime, datetime] | None]] = [
            ("summary, last 24 h", "summary", {}, (now - timedelta(hours=24), now)),
            (
                "summary, last 30 days",
                "summary",
                {"start": (now - timedelta(days=30)).isoformat()},
                (now - timedelta(days=30), now),
            ),
            (
                f"summary, all {self.args.days} days, one agent",
                "summary",
                {"start": (now - timedelta(days=self.args.days + 1)).isoformat(), **agent},
                (now - timedelta(days=self.args.days + 1), now),
            ),
            ("timeseries, last 24 h (hourly)", "timeseries", {}, None),
            (
                "timeseries, 6 h by minute, errors",
                "timeseries",
                {"start": (now - timedelta(hours=6)).isoformat(), "status": "error"},
                None,
            ),
            (
                f"timeseries, all {self.args.days} days (daily)",
                "timeseries",
                {"start": (now - timedelta(days=self.args.days + 1)).isoformat()},
                None,
            ),
            ("requests, first page", "requests", {}, None),
            (
                "requests, first page, agent + status",
                "requests",
                {**agent, "status": "error"},
                None,
            ),
            ("requests, deep page (60 days back)", "requests", {"cursor": cursor}, None),
            (
                "requests, deep page, agent + status",
                "requests",
                {"cursor": cursor, **agent, "status": "error"},
                None,
            ),
        ]
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                for name, endpoint, params, raw_range in queries:

                    async def call(
                        endpoint: str = endpoint, params: dict[str, str] = params
                    ) -> Any:
                        response = await http.get(
                            f"/api/v1/analytics/{endpoint}", params=params, headers=headers
                        )
                        response.raise_for_status()
                        return response.json()

                    timing = Timing(name, await _timed(call, self.args.runs))
                    if raw_range is not None:
                        agent_id = 5 if "agent" in params else None
                        timing.raw_samples, timing.note = await self.raw_summary(
                            connection, raw_range, agent_id, await call()
                        )
                    self.timings.append(timing)
                    log(f"{name}: p50 {Timing.quantile(timing.samples, 0.5):.1f} ms")
                await self.recorder_burst(app)
        await connection.close()

    async def raw_summary(
        self,
        connection: Any,
        window: tuple[datetime, datetime],
        agent_id: int | None,
        served: dict[str, Any],
    ) -> tuple[list[float], str]:
        """Time the same summary from raw rows; compare its figures with the served ones."""
        sql = RAW_SUMMARY_SQL.format(agent="AND agent_config_id = $3" if agent_id else "")
        params = [window[0], window[1], *([agent_id] if agent_id else [])]
        rows: list[Any] = []

        async def query() -> None:
            rows[:] = await connection.fetch(sql, *params)

        runs = self.args.raw_runs
        samples = await _timed(query, runs, warmup=0)
        (total,) = [r for r in rows if r["agent_config_id"] is None and r["status"] is None]
        exact_p95 = total["percentile_disc"][1]
        # The raw query is exact to the millisecond; the roll-ups count whole minutes.
        return samples, (
            f"{served['requests']:,} vs {total['count']:,} calls; "
            f"p95 {served['p95']:,} vs {exact_p95:,} ms"
        )

    async def recorder_burst(self, app: Any) -> None:
        """Record a burst of calls and time until all of them are stored with roll-ups."""
        recorder_module = self.module("modules.analytics.recorder")
        recorder = app.state.request_recorder
        # One buffer's worth at once: the most a burst can queue before calls spill to disk.
        count = self.module("modules.analytics.settings").RecorderSettings().buffer_size
        started = time.perf_counter()
        for n in range(count):
            recorder.record(
                recorder_module.CallRecord(
                    correlation_id=f"burst-{n}",
                    endpoint="/api/v1/agents/{name_or_id}/invoke",
                    agent_config_id=1 + n % AGENTS,
                    user_id="burst@example.com",
                    query="burst",
                    status="success",
                    error_type=None,
                    duration_ms=800 + n % 2000,
                    tokens_in=100,
                    tokens_out=200,
                    conversation_id=None,
                    timestamp=datetime.now(UTC),
                )
            )
        queued = time.perf_counter() - started
        await recorder.flush()
        stored = time.perf_counter() - started
        self.facts["recorder"] = (
            f"{count:,} calls queued in {queued * 1000:.0f} ms "
            f"({queued / count * 1e6:.1f} µs each), all stored with roll-ups in {stored:.1f} s "
            f"({count / stored:,.0f} calls/s)"
        )

    def report(self) -> str:
        """The results as Markdown."""
        lines = [
            f"Machine: {_cpu()}, {os.cpu_count()} CPUs, "
            f"{_memory()}, PostgreSQL {self.facts.get('server', '?')}, "
            f"Python {platform.python_version()}",
            "",
            *(f"- {key}: {value}" for key, value in self.facts.items() if key != "server"),
            "",
            "| query (through the API) | p50 ms | p95 ms | same from raw rows: p50 ms | ratio | "
            "served vs exact |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for timing in self.timings:
            p50 = Timing.quantile(timing.samples, 0.5)
            p95 = Timing.quantile(timing.samples, 0.95)
            raw = ""
            ratio = ""
            if timing.raw_samples:
                raw_p50 = Timing.quantile(timing.raw_samples, 0.5)
                times = raw_p50 / p50
                raw, ratio = f"{raw_p50:,.0f}", f"{times:,.0f}x" if times >= 10 else f"{times:.1f}x"
            lines.append(
                f"| {timing.name} | {p50:.1f} | {p95:.1f} | {raw} | {ratio} | {timing.note} |"
            )
        return "\n".join(lines)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return "? GB RAM"
    return f"{pages / 2**30:.0f} GB RAM"


async def bench_inside(args: argparse.Namespace, package: str) -> int:
    """Run the whole measurement inside the rendered project."""
    bench = Bench(args, package)
    connection = await bench.asyncpg.connect(args.server_url)
    bench.facts["server"] = await connection.fetchval("SHOW server_version")
    await connection.close()
    started = time.perf_counter()
    await bench.run()
    bench.facts["whole run"] = f"{time.perf_counter() - started:.0f} s"
    report = bench.report()
    print("\n" + report)
    if args.output:
        args.output.write_text(report + "\n", encoding="utf-8")
        log(f"written to {args.output}")
    return 0


def main() -> int:
    """Parse the command line; render and re-run, or measure when already inside."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90, help="the rows span this many days")
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each API query")
    parser.add_argument("--raw-runs", type=int, default=3, help="timed runs of each raw query")
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
        (analytics,) = Path("src").glob("*/modules/analytics")
        return asyncio.run(bench_inside(args, package=analytics.parent.parent.name))
    return render_and_run(args)


if __name__ == "__main__":
    raise SystemExit(main())
