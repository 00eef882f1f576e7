"""Dependencies that hand the app's shared objects to routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .settings import Settings


def get_app_settings(request: Request) -> Settings:
    """The settings the running app was built with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
