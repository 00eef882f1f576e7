"""Roll-ups of the request log: how they are written, and which of them answer a time range.

Every call is counted three times, in its minute, its hour and its day (UTC). A range is
answered by the coarsest buckets that fit inside it, finer ones only at its edges: a year is
~365 day rows per configuration and status, plus a few dozen hour and minute rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from .latency import BUCKET_COUNT, LATENCY_BOUNDS_MS


class Grain(StrEnum):
    """Width of a roll-up bucket; the values are PostgreSQL `date_trunc` fields."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


GRAIN_WIDTH = {
    Grain.MINUTE: timedelta(minutes=1),
    Grain.HOUR: timedelta(hours=1),
    Grain.DAY: timedelta(days=1),
}
# Finest first: a range may use any grain up to the width of what is asked.
GRAINS = (Grain.MINUTE, Grain.HOUR, Grain.DAY)
UNTIL_DAY = GRAINS[:2]


def _histogram_sql(term: str) -> str:
    return "ARRAY[" + ", ".join(term.format(i=i) for i in range(BUCKET_COUNT)) + "]"


def rollup_upsert_sql(source: str, *, leading_ctes: str = "") -> str:
    """One statement adding the rows of `source` to the roll-ups of every grain.

    `source` names a relation with the request-log columns `agent_config_id`, `status`,
    `duration_ms`, `tokens_in`, `tokens_out` and `timestamp`: the table itself (backfill)
    or a CTE in `leading_ctes` (the recorder's `INSERT ... RETURNING`).
    """
    bounds = "ARRAY[" + ", ".join(str(b) for b in LATENCY_BOUNDS_MS) + "]"
    counted = _histogram_sql("count(*) FILTER (WHERE s.latency_bucket = {i})")
    summed = _histogram_sql("sum(m.latency_histogram[{i} + 1])::integer")
    merged = _histogram_sql("r.latency_histogram[{i} + 1] + excluded.latency_histogram[{i} + 1]")
    coarser = "\n        UNION ALL\n".join(
        f"""        SELECT '{grain}', date_trunc('{grain}', m.bucket_start, 'UTC'),
            m.agent_config_id, m.status, sum(m.requests), sum(m.tokens_in),
            sum(m.tokens_out), sum(m.duration_ms_sum), max(m.duration_ms_max), {summed}
        FROM minute_rollups AS m GROUP BY 2, 3, 4"""  # noqa: S608 - constants only
        for grain in GRAINS[1:]
    )
    return f"""
    WITH {leading_ctes}
    minute_rollups AS (
        SELECT date_trunc('minute', s."timestamp", 'UTC') AS bucket_start,
            coalesce(s.agent_config_id, 0) AS agent_config_id, s.status,
            count(*) AS requests, sum(s.tokens_in) AS tokens_in,
            sum(s.tokens_out) AS tokens_out, sum(s.duration_ms) AS duration_ms_sum,
            max(s.duration_ms) AS duration_ms_max, {counted} AS latency_histogram
        FROM (
            SELECT *, width_bucket(duration_ms, {bounds}) AS latency_bucket FROM {source}
        ) AS s
        GROUP BY 1, 2, 3
    ),
    all_rollups AS (
        SELECT 'minute' AS grain, m.* FROM minute_rollups AS m
        UNION ALL
{coarser}
    )
    INSERT INTO request_log_rollups AS r (grain, bucket_start, agent_config_id, status,
        requests, tokens_in, tokens_out, duration_ms_sum, duration_ms_max, latency_histogram)
    SELECT * FROM all_rollups
    -- One lock order for every writer: concurrent flushes cannot deadlock.
    ORDER BY grain, bucket_start, agent_config_id, status
    ON CONFLICT (grain, bucket_start, agent_config_id, status) DO UPDATE SET
        requests = r.requests + excluded.requests,
        tokens_in = r.tokens_in + excluded.tokens_in,
        tokens_out = r.tokens_out + excluded.tokens_out,
        duration_ms_sum = r.duration_ms_sum + excluded.duration_ms_sum,
        duration_ms_max = greatest(r.duration_ms_max, excluded.duration_ms_max),
        latency_histogram = {merged}
    """  # noqa: S608 - only constants and the caller's relation name are interpolated


def floor_to(moment: datetime, grain: Grain) -> datetime:
    """The start of the UTC bucket of `grain` holding `moment`."""
    moment = moment.astimezone(UTC)
    if grain is Grain.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if grain is Grain.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_to(moment: datetime, grain: Grain) -> datetime:
    """The first bucket boundary of `grain` at or after `moment`."""
    floored = floor_to(moment, grain)
    return floored if floored == moment else floored + GRAIN_WIDTH[grain]


def covering_buckets(
    start: datetime, end: datetime, grains: tuple[Grain, ...] = GRAINS
) -> list[tuple[Grain, datetime, datetime]]:
    """Split minute-aligned `[start, end)` into (grain, from, to) pieces, coarsest inside.

    Each minute of the range is counted by exactly one piece. `grains` lists the grains
    allowed, finest first (a time series by hour cannot use day buckets).
    """
    if start >= end:
        return []
    coarsest, finer = grains[-1], grains[:-1]
    if not finer:
        return [(coarsest, start, end)]
    inner_start, inner_end = ceil_to(start, coarsest), floor_to(end, coarsest)
    if inner_start >= inner_end:
        return covering_buckets(start, end, finer)
    return [
        *covering_buckets(start, inner_start, finer),
        (coarsest, inner_start, inner_end),
        *covering_buckets(inner_end, end, finer),
    ]
