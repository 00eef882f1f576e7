"""Business gauges read from the database: agent configurations and active conversations.

Each process refreshes them every `METRICS_REFRESH_S` (docs/operations.md, Metrics). The
figures are the same in every process, so `/metrics` shows the largest (multiprocess mode
`livemax`), and a dashboard over several replicas takes their `max`, not their sum.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from loguru import logger
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from ...core.aio import cancel_and_wait
from ...core.metrics import AGENT_CONFIGS, CONVERSATIONS_ACTIVE
from ...core.models import utcnow
from ..agents.models import AgentConfig
from .models import RequestLog


class GaugeSettings(BaseSettings):
    """`METRICS_*`: how often the business gauges are read, and what counts as active."""

    model_config = SettingsConfigDict(
        env_prefix="METRICS_", env_file=".env", extra="ignore", case_sensitive=False
    )

    refresh_s: float = Field(default=15.0, gt=0)
    # A conversation is active while its last call is at most this old.
    conversation_window_s: int = Field(default=900, ge=1)


async def refresh_business_gauges(engine: AsyncEngine, settings: GaugeSettings) -> None:
    """Set `agent_configs_total{enabled}` and `conversations_active` from the database."""
    since = utcnow() - timedelta(seconds=settings.conversation_window_s)
    enabled_column = col(AgentConfig.enabled)
    conversation = col(RequestLog.conversation_id)
    # One table per transaction: never holding one table while waiting for the other, which
    # deadlocked against statements locking both (TRUNCATE, a migration) in the other order.
    async with engine.connect() as connection:
        counted = await connection.execute(
            select(enabled_column, func.count()).group_by(enabled_column)
        )
        by_state = {bool(enabled): int(count) for enabled, count in counted.all()}
    async with engine.connect() as connection:
        active = (
            await connection.execute(
                select(func.count(func.distinct(conversation))).where(
                    col(RequestLog.timestamp) >= since, conversation.is_not(None)
                )
            )
        ).scalar_one()
    for enabled in (True, False):
        AGENT_CONFIGS.labels(str(enabled).lower()).set(by_state.get(enabled, 0))
    CONVERSATIONS_ACTIVE.set(active)


async def _refresh_forever(engine: AsyncEngine, settings: GaugeSettings) -> None:
    failing = False
    while True:
        try:
            await refresh_business_gauges(engine, settings)
        except Exception as exc:  # the database blinked: keep the last figures, try again
            if not failing:
                logger.warning(f"business gauges not refreshed: {exc}")
            failing = True
        else:
            failing = False
        await asyncio.sleep(settings.refresh_s)


@asynccontextmanager
async def refresh_business_gauges_while_running(engine: AsyncEngine) -> AsyncIterator[None]:
    """Keep the business gauges fresh while the app runs (first read at start-up)."""
    refresher = asyncio.create_task(_refresh_forever(engine, GaugeSettings()))
    try:
        yield
    finally:
        await cancel_and_wait([refresher])
