"""Capacity arithmetic: Little's law for concurrency, row sizes for storage.

Figures are starting points for planning, each with the reason in plain words; measure and
adjust under your own load.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

# One API process comfortably holds this many HiAgent calls in flight (they wait on I/O).
CALLS_PER_PROCESS = 200
# Average traffic over a day relative to the peak minute (a common office-hours shape).
DAILY_AVERAGE_TO_PEAK = 0.4
# A request-log row with its indexes and roll-up share, in bytes (query text dominates).
BYTES_PER_LOG_ROW = 700
HEADROOM = 1.5
MIN_INSTANCES = 2


class SizingInput(BaseModel):
    """Expected load. Leave a field out to use a typical value."""

    peak_requests_per_minute: float = Field(default=60, ge=0, le=1_000_000)
    average_call_seconds: float = Field(default=8.0, gt=0, le=3600)
    average_tokens_per_call: int = Field(default=1500, ge=0, le=10_000_000)
    hot_retention_days: int = Field(default=90, ge=1, le=3650)
    cold_retention_days: int = Field(default=365, ge=1, le=3650)
    db_pool_size: int = Field(default=20, ge=1, le=1000)
    db_max_overflow: int = Field(default=10, ge=0, le=1000)
    server_processes: int = Field(default=1, ge=1, le=256)


class Recommendation(BaseModel):
    """One figure to set, and why."""

    key: str
    label: str
    value: float | int
    unit: str
    reason: str


class SizingResult(BaseModel):
    """Inputs used (after defaults or observation) and the recommendations."""

    inputs: SizingInput
    source: str
    recommendations: list[Recommendation]


def recommend(load: SizingInput, *, source: str = "expected") -> SizingResult:
    """Recommendations for `load`."""
    per_second = load.peak_requests_per_minute / 60
    in_flight = per_second * load.average_call_seconds
    concurrent = max(1, math.ceil(in_flight * HEADROOM))
    instances = max(MIN_INSTANCES, math.ceil(concurrent / CALLS_PER_PROCESS))
    per_instance = math.ceil(concurrent / instances)
    processes = instances * load.server_processes
    connections = processes * (load.db_pool_size + load.db_max_overflow) + 20
    rows_per_day = load.peak_requests_per_minute * 60 * 24 * DAILY_AVERAGE_TO_PEAK
    hot_gb = rows_per_day * load.hot_retention_days * BYTES_PER_LOG_ROW / 1e9
    cold_days = max(load.cold_retention_days - load.hot_retention_days, 0)
    cold_gb = rows_per_day * cold_days * BYTES_PER_LOG_ROW / 1e9
    tokens_per_day = rows_per_day * load.average_tokens_per_call
    memory_mb = 384 + per_instance * 2
    return SizingResult(
        inputs=load,
        source=source,
        recommendations=[
            Recommendation(
                key="concurrent_calls",
                label="Calls in progress at the peak",
                value=concurrent,
                unit="calls",
                reason=f"{per_second:.2f} calls per second each lasting "
                f"{load.average_call_seconds:g} s, plus {int((HEADROOM - 1) * 100)}% headroom",
            ),
            Recommendation(
                key="api_instances",
                label="API instances",
                value=instances,
                unit="instances",
                reason=f"one instance holds about {CALLS_PER_PROCESS} calls at once; at least "
                f"{MIN_INSTANCES} so one can restart without downtime",
            ),
            Recommendation(
                key="hiagent_max_concurrency",
                label="HIAGENT_MAX_CONCURRENCY per instance",
                value=per_instance,
                unit="calls",
                reason="the peak in-progress calls shared across the instances",
            ),
            Recommendation(
                key="api_memory_mb",
                label="Memory per API instance",
                value=memory_mb,
                unit="MB",
                reason="a base of 384 MB plus about 2 MB per call in progress",
            ),
            Recommendation(
                key="postgres_max_connections",
                label="PostgreSQL max_connections",
                value=connections,
                unit="connections",
                reason=f"{instances} instances of {load.server_processes} process(es), each "
                f"with a pool of {load.db_pool_size} + {load.db_max_overflow} for bursts, "
                "plus 20 for administration and migrations",
            ),
            Recommendation(
                key="request_log_rows_per_day",
                label="Request log rows per day",
                value=round(rows_per_day),
                unit="rows",
                reason=f"the peak rate held at {int(DAILY_AVERAGE_TO_PEAK * 100)}% on average",
            ),
            Recommendation(
                key="database_hot_storage_gb",
                label="Database storage for recent requests",
                value=round(hot_gb, 2),
                unit="GB",
                reason=f"{load.hot_retention_days} days at about {BYTES_PER_LOG_ROW} bytes a row",
            ),
            Recommendation(
                key="archive_storage_gb",
                label="Archive storage",
                value=round(cold_gb, 2),
                unit="GB",
                reason=f"kept {cold_days} more days in the archive table before deletion",
            ),
            Recommendation(
                key="tokens_per_day",
                label="Tokens per day",
                value=round(tokens_per_day),
                unit="tokens",
                reason="rows per day times average tokens per call (for quotas)",
            ),
        ],
    )
