"""Manifest of the dashboard module: built by `bootstrap`/`dev`, served at `/` after the API.

Its menu route lists the `dashboard_links` of every module, so a module adds a menu entry
from its own manifest.
"""

from fastapi import FastAPI

from ...core.plugins import EVERYONE, Access, ModuleManifest
from .build import prepare
from .router import router
from .serving import mount_dashboard
from .settings import DashboardSettings


def setup(app: FastAPI) -> None:
    """Serve the built dashboard; runs last (highest order), after every API route."""
    mount_dashboard(app, DashboardSettings().dist_dir)


manifest = ModuleManifest(
    name="dashboard",
    router=router,
    access=[Access("/dashboard", EVERYONE, methods=("GET",))],
    order=1000,
    description="The web dashboard for configurators, served from its build",
    setup=setup,
    prepare=prepare,
)
