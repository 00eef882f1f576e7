"""Roll-ups agree with the raw request log, and ranges are covered exactly once."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from ...agents.models import AgentConfig
from ..latency import BUCKET_COUNT, LATENCY_BOUNDS_MS, bucket_of, bucket_range
from ..models import CallStatus
from ..recorder import RequestRecorder
from ..rollups import GRAIN_WIDTH, Grain, covering_buckets, floor_to
from .conftest import RecordFactory


async def test_rollups_match_the_raw_rows(
    recorder: RequestRecorder,
    make_record: RecordFactory,
    agents: dict[str, AgentConfig],
    db_session: AsyncSession,
) -> None:
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    start = floor_to(datetime.now(UTC) - timedelta(days=3), Grain.DAY)
    agent_ids = [None, *(agent.id for agent in agents.values())]
    # Two flushes, several batches each: buckets are created, then added to.
    for _ in range(2):
        for _ in range(700):
            recorder.record(
                make_record(
                    agent_config_id=rng.choice(agent_ids),
                    status=rng.choice(list(CallStatus)).value,
                    duration_ms=int(rng.lognormvariate(7, 1.5)),
                    tokens_in=rng.randint(0, 2000),
                    tokens_out=rng.randint(0, 2000),
                    timestamp=start + timedelta(seconds=rng.randint(0, 3 * 86400)),
                )
            )
        await recorder.flush()

    connection = await db_session.connection()
    raw = (
        await connection.execute(
            text(
                'SELECT agent_config_id, status, duration_ms, tokens_in, tokens_out, "timestamp" '
                "FROM request_logs"
            )
        )
    ).all()
    expected: dict[tuple[str, datetime, int, str], list[Any]] = {}
    for agent_id, status, duration, tokens_in, tokens_out, moment in raw:
        for grain in Grain:
            key = (grain.value, floor_to(moment, grain), agent_id or 0, status)
            sums = expected.setdefault(key, [0, 0, 0, 0, 0, [0] * BUCKET_COUNT])
            sums[0] += 1
            sums[1] += tokens_in
            sums[2] += tokens_out
            sums[3] += duration
            sums[4] = max(sums[4], duration)
            sums[5][bucket_of(duration)] += 1
    rollups = (
        await connection.execute(
            text(
                "SELECT grain, bucket_start, agent_config_id, status, requests, tokens_in, "
                "tokens_out, duration_ms_sum, duration_ms_max, latency_histogram "
                "FROM request_log_rollups"
            )
        )
    ).all()
    actual = {(g, b.astimezone(UTC), a, s): list(rest) for g, b, a, s, *rest in rollups}
    assert len(raw) == 1400
    assert actual == expected


async def test_percentiles_land_in_the_bucket_of_the_exact_ones(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    recorder: RequestRecorder,
    make_record: RecordFactory,
) -> None:
    rng = random.Random(11)  # noqa: S311 - reproducible test data
    durations = [int(rng.lognormvariate(8, 1.0)) for _ in range(2000)]
    moment = datetime.now(UTC) - timedelta(minutes=30)
    for duration in durations:
        recorder.record(make_record(duration_ms=duration, timestamp=moment))
    await recorder.flush()

    summary = (await client.get("/api/v1/analytics/summary", headers=admin_headers)).json()

    ordered = sorted(durations)
    for name, quantile in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        exact = ordered[math.ceil(quantile * len(ordered)) - 1]
        lower, upper = bucket_range(bucket_of(exact))
        assert lower <= summary[name] <= (upper or max(durations)), (name, exact, summary)
    assert summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"]
    assert summary["max"] == max(durations)
    assert summary["mean"] == round(sum(durations) / len(durations))


def test_latency_buckets_follow_width_bucket() -> None:
    assert bucket_of(0) == 0
    assert bucket_of(LATENCY_BOUNDS_MS[0] - 1) == 0
    assert bucket_of(LATENCY_BOUNDS_MS[0]) == 1
    assert bucket_of(10**9) == BUCKET_COUNT - 1
    assert bucket_range(BUCKET_COUNT - 1) == (LATENCY_BOUNDS_MS[-1], None)


def test_a_range_is_covered_by_the_coarsest_buckets_inside_it() -> None:
    start = datetime(2026, 3, 1, 22, 17, tzinfo=UTC)
    end = datetime(2026, 3, 4, 1, 42, tzinfo=UTC)
    assert covering_buckets(start, end) == [
        (Grain.MINUTE, start, datetime(2026, 3, 1, 23, tzinfo=UTC)),
        (Grain.HOUR, datetime(2026, 3, 1, 23, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
        (Grain.DAY, datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)),
        (Grain.HOUR, datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 4, 1, tzinfo=UTC)),
        (Grain.MINUTE, datetime(2026, 3, 4, 1, tzinfo=UTC), end),
    ]


def test_every_minute_of_a_range_is_covered_once() -> None:
    rng = random.Random(3)  # noqa: S311 - reproducible test data
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(200):
        start = origin + timedelta(minutes=rng.randint(0, 20_000))
        end = start + timedelta(minutes=rng.randint(1, 10_000))
        pieces = covering_buckets(start, end, (Grain.MINUTE, Grain.HOUR, Grain.DAY))
        assert pieces[0][1] == start
        assert pieces[-1][2] == end
        for (grain, piece_start, piece_end), following in itertools.pairwise(pieces):
            assert piece_end == following[1]
            assert floor_to(piece_start, grain) == piece_start
            assert (piece_end - piece_start) % GRAIN_WIDTH[grain] == timedelta(0)
