"""The request recorder: every HiAgent call becomes a request-log row, off the hot path.

`record()` only appends to a bounded in-memory buffer. A background task writes batches
(every `REQUEST_LOG_FLUSH_INTERVAL_MS`, or sooner once `REQUEST_LOG_BATCH_SIZE` records
wait) with one statement that inserts the rows and adds them to the roll-ups, in one
transaction. Nothing is dropped silently:

- database down: the batch is retried with backoff while the buffer fills;
- buffer full: further records go to a spill file (JSON lines under
  `REQUEST_LOG_SPILL_DIR`), replayed into the database when the service next starts;
- shutdown: the buffer is written within `REQUEST_LOG_SHUTDOWN_TIMEOUT_S`, the rest spilled;
- a record the database refuses outright is spilled and logged at ERROR with its data.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger
from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from .rollups import rollup_upsert_sql
from .settings import RecorderSettings
from .spill import PENDING_SUFFIX, SpillWriter, claim_spill_files, read_spill_file

RECORDS = Counter(
    "request_log_records_total",
    "Request-log records by what became of them: written to the database or spilled to disk.",
    ["outcome"],
)
WRITE_FAILURES = Counter(
    "request_log_write_failures_total", "Failed attempts to write a batch of the request log."
)
BUFFERED = Gauge(
    "request_log_buffered",
    "Request-log records waiting in memory.",
    multiprocess_mode="livesum",
)

_INT32_MAX = 2**31 - 1
# SQLSTATE classes worth retrying: connection, transaction rollback, resources, operator.
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "55", "57", "58"})
_FOREIGN_KEY_VIOLATION = "23503"  # a configuration deleted meanwhile: the retry drops the id
_FIRST_BACKOFF_S = 0.05
_WRITE_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One finished HiAgent call, as the gateway reports it."""

    correlation_id: str
    endpoint: str
    agent_config_id: int | None
    user_id: str
    query: str
    status: str  # "success" | "error" | "timeout" | "rejected" | "cancelled"
    error_type: str | None
    duration_ms: int
    tokens_in: int
    tokens_out: int
    conversation_id: str | None
    timestamp: datetime  # UTC


_COLUMNS = tuple(field.name for field in fields(CallRecord))
_COLUMN_LIST = ", ".join(f'"{name}"' for name in _COLUMNS)
_SQL_TYPES = {
    "agent_config_id": "integer",
    "duration_ms": "integer",
    "tokens_in": "integer",
    "tokens_out": "integer",
    "timestamp": "timestamptz",
}
_ARRAYS = ", ".join(f"CAST(:{name} AS {_SQL_TYPES.get(name, 'varchar')}[])" for name in _COLUMNS)
# The batch arrives as one array per column; configurations deleted meanwhile become NULL.
_INSERT_CTES = f"""
    incoming AS (
        SELECT * FROM unnest({_ARRAYS}) AS v({_COLUMN_LIST})
    ),
    inserted AS (
        INSERT INTO request_logs ({_COLUMN_LIST})
        SELECT {", ".join("a.id" if c == "agent_config_id" else f'v."{c}"' for c in _COLUMNS)}
        FROM incoming AS v LEFT JOIN agent_configs AS a ON a.id = v.agent_config_id
        RETURNING agent_config_id, status, duration_ms, tokens_in, tokens_out, "timestamp"
    ),
"""  # noqa: S608 - only constant column names are interpolated
WRITE_BATCH = text(rollup_upsert_sql("inserted", leading_ctes=_INSERT_CTES))


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate: str | None = getattr(exc.orig, "sqlstate", None)
        if sqlstate is None:
            return isinstance(exc, OperationalError | InterfaceError)
        return sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate == _FOREIGN_KEY_VIOLATION
    return isinstance(exc, OSError | TimeoutError)


def _text(value: str, limit: int) -> str:
    cleaned = value if type(value) is str else str(value)
    if "\x00" in cleaned:  # PostgreSQL text cannot hold NUL
        cleaned = cleaned.replace("\x00", "")
    return cleaned if len(cleaned) <= limit else cleaned[:limit]


def _count(value: int) -> int:
    number = int(value)
    return number if 0 <= number <= _INT32_MAX else min(max(number, 0), _INT32_MAX)


def _to_json(record: CallRecord) -> dict[str, Any]:
    data = asdict(record)
    data["timestamp"] = record.timestamp.isoformat()
    return data


def _decode(rows: list[dict[str, Any]]) -> list[CallRecord]:
    records = []
    for row in rows:
        try:
            values = {name: row[name] for name in _COLUMNS}
            values["timestamp"] = datetime.fromisoformat(values["timestamp"])
            records.append(CallRecord(**values))
        except (KeyError, TypeError, ValueError) as exc:
            logger.error("request-log spill record is not a call record ({}): {}", exc, row)
    return records


class RequestRecorder:
    """Buffers call records and writes them to the request log and its roll-ups."""

    def __init__(self, engine: AsyncEngine, settings: RecorderSettings | None = None) -> None:
        self._engine = engine
        self._settings = settings or RecorderSettings()
        self._spill = SpillWriter(self._settings.spill_dir)
        self._buffer: deque[CallRecord] = deque()
        self._lock = threading.Lock()  # record() may be called from worker threads
        self._accepted = 0
        self._handled = 0
        self._written = 0
        self._oldest_in_flight: datetime | None = None
        self._overflowing = False
        self._closed = False
        self._stopping = False
        self._deadline = float("inf")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._replay_files: list[Path] = []
        self._replaying: Iterator[dict[str, Any]] | None = None

    # --- the hot path -------------------------------------------------------------------

    def record(self, record: CallRecord) -> None:
        """Queue one call for the request log. Never blocks on I/O, never raises."""
        try:
            clean = self._clean(record)
            with self._lock:
                kept = not self._closed and len(self._buffer) < self._settings.buffer_size
                if kept:
                    self._buffer.append(clean)
                    self._accepted += 1
                waiting = len(self._buffer)
            if not kept:
                self._spill_overflow(clean)
            elif waiting >= self._settings.batch_size:
                self._wake_up()
        except Exception:
            logger.opt(exception=True).error("request-log record could not be kept: {}", record)

    def _clean(self, record: CallRecord) -> CallRecord:
        # Make every value fit its column, so no record can poison a batch.
        agent = record.agent_config_id
        moment = record.timestamp
        return CallRecord(
            correlation_id=_text(record.correlation_id, 64),
            endpoint=_text(record.endpoint, 255),
            agent_config_id=agent if agent is not None and 0 < agent <= _INT32_MAX else None,
            user_id=_text(record.user_id, 254),
            query=_text(record.query, self._settings.query_max_chars),
            status=_text(record.status, 32),
            error_type=None if record.error_type is None else _text(record.error_type, 64),
            duration_ms=_count(record.duration_ms),
            tokens_in=_count(record.tokens_in),
            tokens_out=_count(record.tokens_out),
            conversation_id=(
                None if record.conversation_id is None else _text(record.conversation_id, 255)
            ),
            timestamp=moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment,
        )

    def _spill_overflow(self, record: CallRecord) -> None:
        written = self._spill.write([_to_json(record)])
        RECORDS.labels("spilled").inc(written)
        if not self._overflowing:
            self._overflowing = True
            logger.warning(
                "request-log buffer is full or closed ({} records): spilling to {}",
                self._settings.buffer_size,
                self._spill.path,
            )

    def _wake_up(self) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background writer; spill files left by earlier runs are replayed."""
        self._loop = asyncio.get_running_loop()
        self._replay_files = await asyncio.to_thread(claim_spill_files, self._settings.spill_dir)
        if self._replay_files:
            logger.info("replaying {} request-log spill file(s)", len(self._replay_files))
            self._wake.set()
        self._task = asyncio.create_task(self._run(), name="request-recorder")

    async def stop(self) -> None:
        """Write what is buffered (within the shutdown timeout), spill the rest, and stop."""
        with self._lock:
            self._closed = True
        self._stopping = True
        self._deadline = time.monotonic() + self._settings.shutdown_timeout_s
        self._stop_requested.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        # Never started (or ended early): whatever is left goes to disk, not to waste.
        leftover = self._take(len(self._buffer))
        if leftover:
            self._spill_batch(leftover, "the recorder stopped before writing them")
            self._finish(len(leftover))
        self._spill.close()
        BUFFERED.set(0)

    async def flush(self) -> None:
        """Return once every record recorded before this call is stored (or spilled)."""
        target = self._accepted
        while self._handled < target:
            if self._task is None or self._task.done():
                raise RuntimeError("the request recorder is not running")
            progress = self._progress
            self._wake.set()
            await progress.wait()

    # --- what the analytics read ----------------------------------------------------------

    @property
    def written(self) -> int:
        """Records this recorder has stored so far; changes after every write."""
        return self._written

    @property
    def data_as_of(self) -> datetime:
        """Calls up to this moment are in the database: the oldest one still waiting, or now."""
        with self._lock:
            waiting = [self._buffer[0].timestamp] if self._buffer else []
        if self._oldest_in_flight is not None:
            waiting.append(self._oldest_in_flight)
        return min([*waiting, datetime.now(UTC)])

    async def wait_for_progress(self, within_s: float) -> None:
        """Return after the next batch is handled, or after `within_s` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), within_s)

    # --- the background writer ------------------------------------------------------------

    async def _run(self) -> None:
        interval = self._settings.flush_interval_ms / 1000
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            try:
                await self._drain()
                if not self._stopping:
                    await self._replay_some()
            except Exception:
                logger.opt(exception=True).error("request-log writer failed; continuing")
                await self._pause(interval)
            if self._stopping and not self._buffer:
                self._release_replay()
                return

    async def _drain(self) -> None:
        while batch := self._take(self._settings.batch_size):
            await self._store(batch)
            self._finish(len(batch))

    def _take(self, size: int) -> list[CallRecord]:
        with self._lock:
            batch = [self._buffer.popleft() for _ in range(min(size, len(self._buffer)))]
            BUFFERED.set(len(self._buffer))
        self._oldest_in_flight = min((r.timestamp for r in batch), default=None)
        return batch

    def _finish(self, handled: int) -> None:
        self._oldest_in_flight = None
        self._handled += handled
        self._progress.set()
        self._progress = asyncio.Event()

    async def _store(self, batch: list[CallRecord]) -> None:
        """Write `batch`, retrying while the database is unavailable; spill as a last resort."""
        backoff = _FIRST_BACKOFF_S
        while True:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                self._spill_batch(batch, "the database was unavailable at shutdown")
                return
            try:
                async with asyncio.timeout(min(_WRITE_TIMEOUT_S, remaining)):
                    await self._write(batch)
                return
            except Exception as exc:
                WRITE_FAILURES.inc()
                if not _is_transient(exc):
                    await self._store_one_by_one(batch)
                    return
                logger.warning(
                    "request-log write of {} records failed ({}: {}); retrying in {:.2f}s",
                    len(batch),
                    type(exc).__name__,
                    exc,
                    backoff,
                )
            await self._pause(backoff)
            backoff = min(backoff * 2, self._settings.retry_max_backoff_s)

    async def _write(self, batch: list[CallRecord]) -> None:
        columns = {name: [getattr(record, name) for record in batch] for name in _COLUMNS}
        async with self._engine.begin() as connection:
            await connection.execute(WRITE_BATCH, columns)
        self._written += len(batch)
        self._overflowing = False
        RECORDS.labels("written").inc(len(batch))

    async def _store_one_by_one(self, batch: list[CallRecord]) -> None:
        # The database refused the batch itself: find the records it refuses, keep the rest.
        for record in batch:
            try:
                await self._write([record])
            except Exception as exc:
                self._spill_batch([record], f"the database refused it ({exc})")

    def _spill_batch(self, batch: list[CallRecord], reason: str) -> None:
        self._spill_rows([_to_json(record) for record in batch], reason)

    def _spill_rows(self, rows: list[dict[str, Any]], reason: str) -> None:
        try:
            written = self._spill.write(rows)
        except OSError:
            # The last place left: the log, with the data.
            logger.opt(exception=True).error(
                "request-log records could not be written or spilled; here they are: {}", rows
            )
            return
        RECORDS.labels("spilled").inc(written)
        logger.error("{} request-log records spilled to {}: {}", written, self._spill.path, reason)

    async def _pause(self, seconds: float) -> None:
        # Sleeps, but a shutdown ends the pause so the deadline is honoured.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    # --- replay of spill files ------------------------------------------------------------

    async def _replay_some(self) -> None:
        size = self._settings.batch_size
        while not self._stopping and len(self._buffer) < size:
            if self._replaying is None:
                if not self._replay_files:
                    return
                self._replaying = read_spill_file(self._replay_files[0])
            rows = [row for _, row in zip(range(size), self._replaying, strict=False)]
            chunk = _decode(rows)
            if chunk:
                await self._store([self._clean(record) for record in chunk])
            if len(rows) < size:
                self._replaying = None
                self._replay_files.pop(0).unlink(missing_ok=True)

    def _release_replay(self) -> None:
        # Stopped mid-replay: what is left goes back to disk for the next start.
        if self._replaying is not None:
            self._spill_rows(list(self._replaying), "the replay was cut short by a shutdown")
            self._replaying = None
            self._replay_files.pop(0).unlink(missing_ok=True)
        for path in self._replay_files:
            try:
                path.rename(path.with_suffix(PENDING_SUFFIX))
            except OSError:
                logger.opt(exception=True).error("could not give back spill file {}", path)
        self._replay_files = []
