"""The retention job: archive, then delete, in small batches, each in its own transaction.

A batch of the request log moves with one statement (`DELETE ... RETURNING` feeding an
`INSERT`), so a row is either still in the hot table or already in the archive, never both
and never neither: a run killed at any moment loses and duplicates nothing, and the next run
carries on where it stopped. One run at a time, across every instance (an advisory lock).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import TextClause, text

from ...core.db import Database
from ...core.models import utcnow
from ...core.project import PACKAGE_NAME
from ...core.settings import Settings
from .models import REQUEST_LOG_COLUMNS, RetentionRun, RunStatus
from .settings import RetentionSettings

# One lock id per product, so two products sharing a PostgreSQL server do not block each other.
LOCK_KEY = int.from_bytes(
    hashlib.sha256(f"{PACKAGE_NAME}.retention".encode()).digest()[:8], "big", signed=True
)

_COLUMNS = ", ".join(f'"{name}"' for name in REQUEST_LOG_COLUMNS)
_MOVE_TO_ARCHIVE = text(
    f"""
    WITH moved AS (
        DELETE FROM request_logs WHERE id IN (
            SELECT id FROM request_logs
            WHERE "timestamp" < now() - make_interval(days => :days)
            ORDER BY "timestamp", id LIMIT :limit FOR UPDATE SKIP LOCKED
        )
        RETURNING {_COLUMNS}
    )
    INSERT INTO request_logs_archive ({_COLUMNS}) SELECT {_COLUMNS} FROM moved
    """  # noqa: S608 - the column names come from the model, not from input
)
_DELETE_ARCHIVED = text(
    "DELETE FROM request_logs_archive WHERE id IN (SELECT id FROM request_logs_archive "
    'WHERE "timestamp" < now() - make_interval(days => :days) LIMIT :limit)'
)
# Every status is listed so the (status, timestamp) index serves the search.
_DELETE_EVENTS = text(
    "DELETE FROM events WHERE id IN (SELECT id FROM events "
    "WHERE status IN ('pending', 'processed', 'failed') "
    'AND "timestamp" < now() - make_interval(days => :days) LIMIT :limit)'
)
_DELETE_TEST_RUNS = text(
    "DELETE FROM agent_test_runs WHERE id IN (SELECT id FROM agent_test_runs "
    'WHERE "timestamp" < now() - make_interval(days => :days) LIMIT :limit)'
)


def _delete_rollups(grains: str) -> TextClause:
    # The primary key (grain, bucket_start, ...) serves the search.
    return text(
        # The grains are constants of this module (below), never input.
        "DELETE FROM request_log_rollups WHERE (grain, bucket_start, agent_config_id, status) IN ("  # noqa: S608
        "SELECT grain, bucket_start, agent_config_id, status FROM request_log_rollups "
        f"WHERE grain IN ({grains}) AND bucket_start < now() - make_interval(days => :days) "
        "LIMIT :limit)"
    )


# Sign-in throttles whose window and block are long over (docs/security.md, Sign-in).
_DELETE_THROTTLES = text(
    "DELETE FROM login_throttles WHERE key IN (SELECT key FROM login_throttles "
    "WHERE window_started_at < now() - make_interval(days => :days) "
    "AND (blocked_until IS NULL OR blocked_until < now()) LIMIT :limit)"
)
_DELETE_MINUTE_ROLLUPS = _delete_rollups("'minute'")
_DELETE_COARSE_ROLLUPS = _delete_rollups("'hour', 'day'")
_LAST_COMPLETED = text(
    "SELECT now() - max(started_at) < make_interval(secs => :seconds) "
    "FROM retention_runs WHERE status = 'completed'"
)


@dataclass
class RetentionReport:
    """What one run moved and deleted."""

    moved_to_archive: int = 0
    archive_deleted: int = 0
    events_deleted: int = 0
    test_runs_deleted: int = 0
    rollups_deleted: int = 0
    throttles_deleted: int = 0


Progress = Callable[[str, int], None]


@asynccontextmanager
async def retention_lock(database: Database) -> AsyncIterator[bool]:
    """Hold the retention lock while open; yields False when another run holds it."""
    async with database.engine.connect() as connection:
        acquired = bool(
            (
                await connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
                )
            ).scalar_one()
        )
        await connection.commit()  # the lock belongs to the session, not to a transaction
        try:
            yield acquired
        finally:
            if acquired:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                await connection.commit()


async def _in_batches(
    database: Database,
    statement: TextClause,
    days: float,
    batch_size: int,
    pause_s: float,
    step: str,
    progress: Progress | None,
    total: int = 0,
) -> int:
    while True:
        async with database.engine.begin() as connection:
            result = await connection.execute(statement, {"days": days, "limit": batch_size})
        total += result.rowcount
        if progress is not None and result.rowcount:
            progress(step, total)
        if result.rowcount < batch_size:
            return total
        if pause_s:
            await asyncio.sleep(pause_s)


async def run_retention(
    database: Database,
    settings: Settings,
    options: RetentionSettings,
    *,
    trigger: str,
    pause_s: float = 0.0,
    progress: Progress | None = None,
) -> RetentionReport:
    """Apply the policy once, recording the run; call it while holding `retention_lock`."""
    async with database.session() as session:
        run = RetentionRun(trigger=trigger)
        session.add(run)
        await session.commit()
        report = RetentionReport()
        steps = (
            ("moved_to_archive", _MOVE_TO_ARCHIVE, settings.retention_request_log_hot_days),
            ("archive_deleted", _DELETE_ARCHIVED, settings.retention_request_log_cold_days),
            ("events_deleted", _DELETE_EVENTS, settings.retention_event_days),
            ("test_runs_deleted", _DELETE_TEST_RUNS, options.test_run_days),
            ("rollups_deleted", _DELETE_MINUTE_ROLLUPS, options.rollup_minute_days),
            ("rollups_deleted", _DELETE_COARSE_ROLLUPS, options.rollup_days),
        )
        try:
            for step, statement, days in steps:
                # Two statements add up to `rollups_deleted`: each carries on its count.
                count = await _in_batches(
                    database,
                    statement,
                    days,
                    options.batch_size,
                    pause_s,
                    step,
                    progress,
                    total=getattr(report, step),
                )
                setattr(report, step, count)
                setattr(run, step, count)
            report.throttles_deleted = await _in_batches(
                database, _DELETE_THROTTLES, 1, options.batch_size, pause_s, "throttles", progress
            )
        except Exception as exc:
            run.status, run.error, run.finished_at = RunStatus.FAILED, str(exc)[:2000], utcnow()
            await session.commit()
            raise
        run.status, run.finished_at = RunStatus.COMPLETED, utcnow()
        await session.commit()
    return report


async def run_if_due(
    database: Database, settings: Settings, options: RetentionSettings
) -> RetentionReport | None:
    """Run unless another instance is running or a run completed within the interval."""
    async with retention_lock(database) as acquired:
        if not acquired:
            return None
        async with database.engine.connect() as connection:
            recent = (
                await connection.execute(
                    _LAST_COMPLETED, {"seconds": options.interval_hours * 3600}
                )
            ).scalar_one()
        if recent:
            return None
        return await run_retention(database, settings, options, trigger="schedule")
