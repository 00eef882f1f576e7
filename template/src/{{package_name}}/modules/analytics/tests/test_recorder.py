"""The request recorder: batched writes off the hot path, and nothing lost when things fail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..recorder import RequestRecorder
from ..settings import RecorderSettings
from ..spill import SpillWriter, claim_spill_files
from .conftest import RecordFactory


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (await connection.execute(text("SELECT count(*) FROM request_logs"))).scalar_one()
        )


async def _count_is(engine: AsyncEngine, expected: int) -> bool:
    return await _count(engine) == expected


async def _rolled_up(engine: AsyncEngine, grain: str) -> int:
    async with engine.connect() as connection:
        result = await connection.execute(
            text("SELECT coalesce(sum(requests), 0) FROM request_log_rollups WHERE grain = :g"),
            {"g": grain},
        )
        return int(result.scalar_one())


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    async def wait() -> None:
        while not await check():  # noqa: ASYNC110 - polling what another task changes
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), timeout_s)


def _failures() -> float:
    return REGISTRY.get_sample_value("request_log_write_failures_total") or 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _via_port(database_url: str, port: int) -> URL:
    """The same database, reached over TCP on `port` of the loopback (nothing there yet)."""
    # The embedded server is reached through its socket folder, named in `?host=`.
    url = make_url(database_url).difference_update_query(["host"])
    return url.set(host="127.0.0.1", port=port)


async def _open_server(database_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    target = make_url(database_url)
    socket_dir = target.query.get("host")
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):
        return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{target.port or 5432}")
    return await asyncio.open_connection(target.host or "127.0.0.1", target.port or 5432)


@contextlib.asynccontextmanager
async def _postgres_proxy(port: int, database_url: str) -> AsyncIterator[None]:
    """Make PostgreSQL reachable on `port`, as if it had just come back."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        server_reader, server_writer = await _open_server(database_url)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


def _files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def _spilled(directory: Path) -> list[dict[str, Any]]:
    (spill_file,) = directory.glob("*.jsonl")
    return [json.loads(line) for line in spill_file.read_text().splitlines()]


def _settings(spill_dir: Path, **values: Any) -> RecorderSettings:
    return RecorderSettings(_env_file=None, spill_dir=spill_dir, retry_max_backoff_s=0.2, **values)


async def test_concurrent_records_are_all_written_with_their_rollups(
    app: FastAPI, recorder: RequestRecorder, make_record: RecordFactory, database_url: str
) -> None:
    written = REGISTRY.get_sample_value("request_log_records_total", {"outcome": "written"}) or 0

    async def caller(n: int) -> None:
        for _ in range(n):
            recorder.record(make_record())
            await asyncio.sleep(0)

    def worker_thread(n: int) -> None:
        for _ in range(n):
            recorder.record(make_record())

    await asyncio.gather(
        *(caller(50) for _ in range(20)), *(asyncio.to_thread(worker_thread, 100) for _ in range(4))
    )
    await recorder.flush()

    engine = create_async_engine(database_url)
    try:
        assert await _count(engine) == 1400
        for grain in ("minute", "hour", "day"):
            assert await _rolled_up(engine, grain) == 1400
    finally:
        await engine.dispose()
    after = REGISTRY.get_sample_value("request_log_records_total", {"outcome": "written"})
    assert after == written + 1400


async def test_records_reach_the_database_without_an_explicit_flush(
    recorder: RequestRecorder, make_record: RecordFactory, database_url: str
) -> None:
    recorder.record(make_record())
    engine = create_async_engine(database_url)
    try:
        await _eventually(lambda: _count_is(engine, 1))
    finally:
        await engine.dispose()


async def test_shutdown_writes_what_is_buffered(
    make_record: RecordFactory, database_url: str, tmp_path: Path, app: FastAPI
) -> None:
    engine = create_async_engine(database_url)
    recorder = RequestRecorder(engine, _settings(tmp_path, flush_interval_ms=60_000))
    await recorder.start()
    for _ in range(10):
        recorder.record(make_record())
    await recorder.stop()
    try:
        assert await _count(engine) == 10
        assert _files(tmp_path) == []
    finally:
        await engine.dispose()


async def test_nothing_is_lost_while_the_database_is_down(
    make_record: RecordFactory, database_url: str, tmp_path: Path, app: FastAPI
) -> None:
    port = _free_port()
    engine = create_async_engine(_via_port(database_url, port))
    recorder = RequestRecorder(engine, _settings(tmp_path, flush_interval_ms=50))
    failures_before = _failures()

    async def retried_twice() -> bool:
        return _failures() >= failures_before + 2

    await recorder.start()
    try:
        for _ in range(5):
            recorder.record(make_record())
        await _eventually(retried_twice)
        async with _postgres_proxy(port, database_url):
            await asyncio.wait_for(recorder.flush(), 10)
            assert await _count(engine) == 5
            assert await _rolled_up(engine, "minute") == 5
            await recorder.stop()
    finally:
        await engine.dispose()
    assert _files(tmp_path) == []


async def test_records_still_unwritten_at_shutdown_are_spilled_then_replayed(
    make_record: RecordFactory, database_url: str, tmp_path: Path, app: FastAPI
) -> None:
    down = create_async_engine(_via_port(database_url, _free_port()))
    settings = _settings(tmp_path, buffer_size=2, shutdown_timeout_s=0.3)
    recorder = RequestRecorder(down, settings)
    await recorder.start()
    for number in range(5):
        recorder.record(make_record(query=f"kept {number}"))
    await recorder.stop()
    await down.dispose()
    # Three overflowed the buffer at once; two more at the shutdown deadline.
    assert sorted(row["query"] for row in _spilled(tmp_path)) == [f"kept {n}" for n in range(5)]

    engine = create_async_engine(database_url)
    replaying = RequestRecorder(engine, settings)
    await replaying.start()
    try:
        await _eventually(lambda: _count_is(engine, 5))
        assert await _rolled_up(engine, "day") == 5
    finally:
        await replaying.stop()
        await engine.dispose()
    assert _files(tmp_path) == []


async def test_a_record_the_database_refuses_is_spilled_and_the_rest_written(
    make_record: RecordFactory, database_url: str, tmp_path: Path, app: FastAPI
) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text("ALTER TABLE request_logs ADD CONSTRAINT no_poison CHECK (endpoint <> 'poison')")
        )
    recorder = RequestRecorder(engine, _settings(tmp_path))
    await recorder.start()
    try:
        for endpoint in ("/a", "poison", "/b"):
            recorder.record(make_record(endpoint=endpoint))
        await recorder.flush()
        assert await _count(engine) == 2
        assert [row["endpoint"] for row in _spilled(tmp_path)] == ["poison"]
    finally:
        await recorder.stop()
        async with engine.begin() as connection:
            await connection.execute(text("ALTER TABLE request_logs DROP CONSTRAINT no_poison"))
        await engine.dispose()


@pytest.mark.parametrize("agent_config_id", [987_654, -1])
async def test_a_call_to_a_missing_configuration_is_kept_without_it(
    recorder: RequestRecorder,
    make_record: RecordFactory,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    agent_config_id: int,
) -> None:
    recorder.record(make_record(agent_config_id=agent_config_id))
    await recorder.flush()
    response = await client.get("/api/v1/analytics/requests", headers=admin_headers)
    (item,) = response.json()["items"]
    assert item["agent_config_id"] is None
    assert item["agent_name"] is None


async def test_values_are_made_to_fit_their_columns(
    recorder: RequestRecorder,
    make_record: RecordFactory,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
) -> None:
    recorder.record(
        make_record(
            query="q\x00" + "x" * 10_000,
            correlation_id="c" * 200,
            duration_ms=-5,
            tokens_in=10**12,
            timestamp=datetime(2030, 1, 2, 3, 4, 5),
        )
    )
    await recorder.flush()
    response = await client.get("/api/v1/analytics/requests", headers=admin_headers)
    (item,) = response.json()["items"]
    assert item["query"] == "q" + "x" * (RecorderSettings().query_max_chars - 1)
    assert item["correlation_id"] == "c" * 64
    assert item["duration_ms"] == 0
    assert item["tokens_in"] == 2**31 - 1
    assert item["timestamp"].startswith("2030-01-02T03:04:05")
    assert item["timestamp"].endswith(("Z", "+00:00"))


async def test_a_recorder_that_never_started_spills_what_it_was_given(
    make_record: RecordFactory, database_url: str, tmp_path: Path
) -> None:
    engine = create_async_engine(database_url)
    recorder = RequestRecorder(engine, _settings(tmp_path))
    recorder.record(make_record(query="early"))
    with pytest.raises(RuntimeError, match="not running"):
        await recorder.flush()
    await recorder.stop()
    await engine.dispose()
    assert [row["query"] for row in _spilled(tmp_path)] == ["early"]


def test_a_spill_file_is_replayed_only_once_its_writer_let_go(tmp_path: Path) -> None:
    writer = SpillWriter(tmp_path)
    writer.write([{"query": "one"}])
    assert claim_spill_files(tmp_path) == []  # still open: more may come
    writer.close()
    (claimed,) = claim_spill_files(tmp_path)
    assert claimed.suffix == ".replaying"
    assert claim_spill_files(tmp_path) == []
