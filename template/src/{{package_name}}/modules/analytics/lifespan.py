"""Start the request recorder with the app; at shutdown, write (or spill) what it holds.

While the app runs, the business gauges (agent configurations, active conversations) are
refreshed from the database too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .gauges import refresh_business_gauges_while_running
from .recorder import RequestRecorder
from .settings import RecorderSettings


@asynccontextmanager
async def run_request_recorder(app: FastAPI) -> AsyncIterator[None]:
    """Expose the recorder as `app.state.request_recorder` while the app runs."""
    recorder = RequestRecorder(app.state.database.engine, RecorderSettings())
    await recorder.start()
    app.state.request_recorder = recorder
    try:
        async with refresh_business_gauges_while_running(app.state.database.engine):
            yield
    finally:
        await recorder.stop()
