"""Manifest of the dashboard module: built by `bootstrap`/`dev`, served at `/` after the API."""

from fastapi import FastAPI

from ...core.plugins import ModuleManifest
from .build import prepare
from .serving import mount_dashboard
from .settings import DashboardSettings


def setup(app: FastAPI) -> None:
    """Serve the built dashboard; runs last (highest order), after every API route."""
    mount_dashboard(app, DashboardSettings().dist_dir)


manifest = ModuleManifest(
    name="dashboard",
    order=1000,
    description="The web dashboard for configurators, served from its build",
    setup=setup,
    prepare=prepare,
)
