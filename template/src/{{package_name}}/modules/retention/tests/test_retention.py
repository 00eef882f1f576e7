"""Retention on real PostgreSQL: what moves, what goes, one run at a time, safe to kill."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import column, func, table, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ....core.db import Database
from ....core.events.models import Event, EventStatus
from ....core.models import utcnow
from ....core.settings import Settings
from ...agents.models import AgentConfig, AgentTestRun
from ...agents.models import TestRunStatus as TrialStatus
from ..models import RetentionRun, RunStatus
from ..service import retention_lock, run_if_due, run_retention
from ..settings import RetentionSettings

PACKAGE = __package__.split(".")[0] if __package__ else ""
SMALL_BATCHES = RetentionSettings(_env_file=None, batch_size=2)


async def add_request_logs(database: Database, count: int, age_days: float, tag: str) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO request_logs (correlation_id, endpoint, user_id, query, status, "
                'duration_ms, tokens_in, tokens_out, "timestamp") '
                "SELECT :tag || '-' || n, '/api/v1/agents/{name_or_id}/invoke', 'ann', 'q', "
                "'success', 5, 1, 2, now() - make_interval(days => :age) "
                "FROM generate_series(1, :count) AS n"
            ),
            {"tag": tag, "count": count, "age": age_days},
        )


async def count(database: Database, name: str) -> int:
    async with database.engine.connect() as connection:
        query = select(func.count()).select_from(table(name))
        return int((await connection.execute(query)).scalar_one())


async def correlation_ids(database: Database, name: str) -> list[str]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(select(column("correlation_id")).select_from(table(name)))
        return sorted(row[0] for row in rows)


async def test_a_run_archives_old_request_logs_and_deletes_what_has_expired(
    app: FastAPI, db_session: AsyncSession
) -> None:
    database: Database = app.state.database
    await add_request_logs(database, 5, age_days=10, tag="hot")
    await add_request_logs(database, 7, age_days=100, tag="cold")
    await add_request_logs(database, 3, age_days=400, tag="expired")
    now = utcnow()
    db_session.add_all(
        [Event(event_type="test.old", timestamp=now - timedelta(days=40)) for _ in range(4)]
        + [Event(event_type="test.new", status=EventStatus.PROCESSED) for _ in range(2)]
    )
    config = AgentConfig(name="bot", app_key="app-bot")
    db_session.add(config)
    await db_session.commit()
    db_session.add_all(
        [
            AgentTestRun(
                agent_config_id=config.id or 0,
                status=TrialStatus.SUCCESS,
                timestamp=now - timedelta(days=days),
            )
            for days in (31, 45, 90, 1)
        ]
    )
    await db_session.commit()

    report = await run_retention(database, app.state.settings, SMALL_BATCHES, trigger="test")

    assert (report.moved_to_archive, report.archive_deleted) == (10, 3)
    assert (report.events_deleted, report.test_runs_deleted) == (4, 3)
    assert await correlation_ids(database, "request_logs") == [f"hot-{n}" for n in range(1, 6)]
    assert await correlation_ids(database, "request_logs_archive") == [
        f"cold-{n}" for n in range(1, 8)
    ]
    assert await count(database, "events") == 2
    assert await count(database, "agent_test_runs") == 1
    [run] = (await db_session.exec(select(RetentionRun))).all()
    assert (run.status, run.trigger, run.moved_to_archive) == (RunStatus.COMPLETED, "test", 10)

    again = await run_retention(database, app.state.settings, SMALL_BATCHES, trigger="test")
    assert (again.moved_to_archive, again.archive_deleted, again.events_deleted) == (0, 0, 0)


async def add_rollups(database: Database, grain: str, ages_days: list[float]) -> None:
    async with database.engine.begin() as connection:
        for age in ages_days:
            await connection.execute(
                text(
                    "INSERT INTO request_log_rollups (grain, bucket_start, agent_config_id, "
                    "status, requests, tokens_in, tokens_out, duration_ms_sum, duration_ms_max, "
                    "latency_histogram) VALUES (:grain, date_trunc(:unit, now() - "
                    "make_interval(days => :age), 'UTC'), 0, 'success', 1, 1, 1, 5, 5, '{1}')"
                ),
                {"grain": grain, "unit": grain, "age": age},
            )


async def rollups_left(database: Database) -> list[tuple[str, int]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT grain, floor(extract(epoch FROM now() - bucket_start) / 86400)::int "
                "FROM request_log_rollups ORDER BY 1, 2"
            )
        )
        return [(grain, days) for grain, days in rows]


async def test_minute_rollups_go_after_15_days_and_coarser_ones_after_a_year(
    app: FastAPI, db_session: AsyncSession
) -> None:
    database: Database = app.state.database
    await add_rollups(database, "minute", [1, 10, 20, 40, 41])
    await add_rollups(database, "hour", [1, 20, 300, 400])
    await add_rollups(database, "day", [20, 364, 366, 500])

    report = await run_retention(database, app.state.settings, SMALL_BATCHES, trigger="test")

    assert report.rollups_deleted == 3 + 1 + 2
    assert await rollups_left(database) == [
        ("day", 20),
        ("day", 364),
        ("hour", 1),
        ("hour", 20),
        ("hour", 300),
        ("minute", 1),
        ("minute", 10),
    ]
    [run] = (await db_session.exec(select(RetentionRun))).all()
    assert run.rollups_deleted == 6


async def test_one_run_at_a_time_and_the_schedule_runs_once_per_interval(app: FastAPI) -> None:
    database: Database = app.state.database
    settings: Settings = app.state.settings
    options = RetentionSettings(_env_file=None, interval_hours=24)

    async with retention_lock(database) as first:
        async with retention_lock(database) as second:
            assert (first, second) == (True, False)
        assert await run_if_due(database, settings, options) is None  # another run holds it

    assert await run_if_due(database, settings, options) is not None
    assert await run_if_due(database, settings, options) is None  # done within 24 hours


async def test_a_run_killed_mid_way_loses_and_duplicates_nothing(
    app: FastAPI, test_settings: Settings, tmp_path: Path
) -> None:
    database: Database = app.state.database
    total = 3000
    await add_request_logs(database, total, age_days=100, tag="row")
    command = [sys.executable, "-m", PACKAGE, "retention", "run", "--batch-size", "20"]
    env = {**os.environ, **environment(test_settings)}
    process = await asyncio.create_subprocess_exec(
        *command, "--pause-ms", "20", env=env, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 60
        while await count(database, "request_logs_archive") < 200:
            assert process.returncode is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        process.kill()  # SIGKILL, mid-batch or between batches
        await process.wait()

    hot = await count(database, "request_logs")
    archived = await count(database, "request_logs_archive")
    assert 0 < hot < total
    assert hot + archived == total
    assert sorted(
        await correlation_ids(database, "request_logs")
        + await correlation_ids(database, "request_logs_archive")
    ) == sorted(f"row-{n}" for n in range(1, total + 1))

    await until_unlocked(database)  # the killed run's last batch is rolled back by now
    finished = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(finished.communicate(), timeout=120)
    assert finished.returncode == 0
    assert f"Moved {hot} request-log rows to the archive" in output.decode()
    assert await count(database, "request_logs") == 0
    assert await correlation_ids(database, "request_logs_archive") == sorted(
        f"row-{n}" for n in range(1, total + 1)
    )


async def until_unlocked(database: Database) -> None:
    query = text(
        "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation "
        "WHERE relname IN ('request_logs', 'request_logs_archive') "
        "AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 10
    async with database.engine.connect() as connection:
        while (await connection.execute(query)).scalar_one():
            assert time.monotonic() < deadline
            await connection.rollback()
            await asyncio.sleep(0.05)


def environment(settings: Settings) -> dict[str, str]:
    """The test settings, for a command run in another process."""
    assert settings.database_url is not None
    return {
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "HIAGENT_JWT_SECRET": settings.jwt_secret(),
        "VOLC_ACCESSKEY": "test-access-key",
        "VOLC_SECRETKEY": "test-secret-key",
        "HIAGENT_TOP_ENDPOINT": settings.hiagent_top_endpoint or "",
        "HIAGENT_APP_BASE_URL": settings.hiagent_app_base_url or "",
    }


async def test_sign_in_throttles_go_a_day_after_their_window_unless_still_blocking(
    app: FastAPI,
) -> None:
    database: Database = app.state.database
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO login_throttles (key, failures, window_started_at, blocked_until) "
                "VALUES ('old', 3, now() - interval '2 days', NULL), "
                "('old-blocked', 0, now() - interval '2 days', now() + interval '1 hour'), "
                "('recent', 1, now() - interval '1 hour', NULL)"
            )
        )

    report = await run_retention(database, app.state.settings, SMALL_BATCHES, trigger="test")

    assert report.throttles_deleted == 1
    async with database.engine.connect() as connection:
        keys = (await connection.execute(text("SELECT key FROM login_throttles"))).scalars()
        assert sorted(keys) == ["old-blocked", "recent"]
