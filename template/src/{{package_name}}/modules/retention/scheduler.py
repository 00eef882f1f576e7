"""The daily retention run, scheduled in every instance; the advisory lock lets one run it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from loguru import logger

from ...core.aio import cancel_and_wait
from ...core.db import Database
from ...core.settings import Settings
from .service import run_if_due
from .settings import RetentionSettings


async def _schedule(database: Database, settings: Settings, options: RetentionSettings) -> None:
    await asyncio.sleep(options.first_check_after_s)
    while True:
        try:
            report = await run_if_due(database, settings, options)
        except Exception as exc:  # retried at the next check; the run is recorded as failed
            logger.warning("retention run failed: {}", exc)
        else:
            if report is not None:
                logger.info("retention run done: {}", report)
        await asyncio.sleep(options.check_every_s)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Check hourly whether the daily run is due (not under APP_ENV=test)."""
    options = RetentionSettings()
    settings: Settings = app.state.settings
    if not options.scheduled(settings):
        yield
        return
    task = asyncio.create_task(_schedule(app.state.database, settings, options), name="retention")
    try:
        yield
    finally:
        await cancel_and_wait([task])
