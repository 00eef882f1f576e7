"""Dependencies that hand the app's shared objects to routes.

They are `async def` though they never await: FastAPI runs a plain `def` dependency in its
thread pool, one thread hop per request (docs/performance.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .settings import Settings


async def get_app_settings(request: Request) -> Settings:
    """The settings the running app was built with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
