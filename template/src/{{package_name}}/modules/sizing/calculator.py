"""Capacity arithmetic: Little's law for concurrency, row sizes for storage.

Figures are starting points for planning, each with the reason in plain words; measure and
adjust under your own load.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
    background_tasks_per_minute: float = Field(
        default=10,
        ge=0,
        le=1_000_000,
        description="Tasks handed to the background worker in the busiest minute (used only "
        "when the product has the worker)",
    )
    task_result_hours: float = Field(
        default=168, gt=0, le=24 * 365, description="How long finished tasks stay readable"
    )


class Recommendation(BaseModel):
    """One figure to set, and why."""

    key: str
    label: str = Field(description="Plain words")
    value: float | int
    unit: str = Field(description="Plural; the dashboard makes it singular for a value of 1")
    reason: str = Field(description="Plain words")
    setting: str | None = Field(
        default=None,
        description="Where engineers set it (an environment variable or a server setting)",
    )

    def amount(self) -> str:
        """The value with its unit, singular for 1: "1 process", "15 processes", "145 MB"."""
        unit = self.unit
        if self.value == 1 and unit.endswith("s"):
            unit = unit[:-2] if unit.endswith("sses") else unit[:-1]
        return f"{self.value:,} {unit}"


class SizingResult(BaseModel):
    """Inputs used (after defaults or observation) and the recommendations."""

    inputs: SizingInput
    source: str = Field(description="Where the figures come from, in plain words")
    worker: bool = Field(default=False, description="Whether the product has the worker")
    recommendations: list[Recommendation]


def seconds(value: float) -> str:
    """A duration as people read it: "0.15 s", "8 s", "12.5 s"."""
    if value >= 10:
        return f"{value:.0f} s"
    return f"{float(f'{value:.2g}'):g} s" if value < 1 else f"{value:.3g} s"


# The background worker sizes itself (`worker/sizing.py`, in products rendered with it).
ExtraSizing = Callable[["SizingInput"], list["Recommendation"]]


def recommend(
    load: SizingInput,
    *,
    source: str = "the figures you entered",
    worker: ExtraSizing | None = None,
) -> SizingResult:
    """Recommendations for `load`; `worker` adds the background worker's own."""
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
    recommendations = [
        Recommendation(
            key="concurrent_calls",
            label="Calls in progress at the peak",
            value=concurrent,
            unit="calls",
            reason=f"{counted(per_second, 'call', 'calls')} a second, each lasting "
            f"{seconds(load.average_call_seconds)}, plus {int((HEADROOM - 1) * 100)}% to "
            "spare",
        ),
        Recommendation(
            key="api_instances",
            label="Copies of the service",
            value=instances,
            unit="copies",
            reason=f"one copy holds about {CALLS_PER_PROCESS} calls at once; at least "
            f"{MIN_INSTANCES} so one can restart while the other answers",
            setting="API instances (replicas)",
        ),
        Recommendation(
            key="hiagent_max_concurrency",
            label="Calls to HiAgent at the same time, per copy",
            value=per_instance,
            unit="calls",
            reason="the calls in progress at the peak, shared between the copies",
            setting="HIAGENT_MAX_CONCURRENCY",
        ),
        Recommendation(
            key="api_memory_mb",
            label="Memory per copy",
            value=memory_mb,
            unit="MB",
            reason="384 MB to start with, plus about 2 MB for each call in progress",
            setting="memory limit of each API container",
        ),
        Recommendation(
            key="postgres_max_connections",
            label="Database connections allowed",
            value=connections,
            unit="connections",
            reason=f"{counted(instances, 'copy', 'copies')} of "
            f"{counted(load.server_processes, 'server process', 'server processes')}, each "
            f"keeping {load.db_pool_size} open and opening up to {load.db_max_overflow} "
            "more when busy, plus 20 for maintenance",
            setting="PostgreSQL max_connections",
        ),
        Recommendation(
            key="request_log_rows_per_day",
            label="Calls recorded per day",
            value=round(rows_per_day),
            unit="calls",
            reason="the busiest minute's rate, held at "
            f"{int(DAILY_AVERAGE_TO_PEAK * 100)}% on average over the day",
        ),
        Recommendation(
            key="database_hot_storage_gb",
            label="Database storage for recent calls",
            value=round(hot_gb, 2),
            unit="GB",
            reason=f"{counted(load.hot_retention_days, 'day', 'days')} of calls at about "
            f"{BYTES_PER_LOG_ROW} bytes each",
        ),
        Recommendation(
            key="archive_storage_gb",
            label="Archive storage",
            value=round(cold_gb, 2),
            unit="GB",
            reason=f"kept {counted(cold_days, 'more day', 'more days')} in the archive "
            "before they are deleted",
        ),
        Recommendation(
            key="tokens_per_day",
            label="Tokens per day",
            value=round(tokens_per_day),
            unit="tokens",
            reason="calls per day times the average tokens per call (for quotas)",
        ),
    ]
    if worker is not None:
        recommendations += worker(load)
    return SizingResult(
        inputs=load, source=source, worker=worker is not None, recommendations=recommendations
    )


def counted(value: float, one: str, many: str) -> str:
    """ "1 call", "2 calls", "0.167 calls": whole numbers in full, others to 3 figures."""
    shown = f"{int(value):,}" if value == int(value) else f"{value:.3g}"
    return f"{shown} {one if value == 1 else many}"
