"""Manifest of the experiments module: A/B splits of an agent configuration, kept for good."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from loguru import logger

from ...core.module_settings import settings_of
from ...core.plugins import CONFIGURE, EVERYONE, Access, DashboardLink, ModuleManifest
from .models import Experiment
from .router import router
from .service import ExperimentSplitter, apply_automatic_stop
from .settings import ExperimentSettings


async def check_periodically(splitter: ExperimentSplitter, every_s: float) -> None:
    """Apply the automatic stop and reload the running experiments, every `every_s`."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await apply_automatic_stop(splitter.database)
            await splitter.reload()
        except Exception:  # the next round tries again
            logger.exception("experiments: the periodic check failed")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Give the gateway the running experiments; reload them and apply the automatic stop."""
    splitter = ExperimentSplitter(app.state.database)
    try:
        await splitter.reload()
    except Exception as exc:  # the database may be down at start: the periodic check retries
        logger.warning(f"experiments: cannot read the running experiments yet ({exc})")
    app.state.experiments = splitter
    gateway = getattr(app.state, "gateway", None)
    if gateway is not None:
        gateway.experiments = splitter
    every_s = settings_of(app, ExperimentSettings).check_s
    task = asyncio.create_task(check_periodically(splitter, every_s))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if gateway is not None:
            gateway.experiments = None


manifest = ModuleManifest(
    name="experiments",
    router=router,
    access=[
        Access("/experiments", EVERYONE, methods=("GET",)),
        Access("/experiments", CONFIGURE),
    ],
    models=[Experiment],
    order=45,
    description="A/B experiments: one agent configuration split with another per end user",
    dashboard_links=[DashboardLink(label="Experiments", path="/experiments", roles=CONFIGURE)],
    lifespan=lifespan,
    settings=ExperimentSettings,
)
