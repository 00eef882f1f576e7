"""Manifest of the runbooks module."""

from ...core.plugins import EVERYONE, Access, DashboardLink, ModuleManifest
from .router import router

manifest = ModuleManifest(
    name="runbooks",
    router=router,
    access=[Access("/runbooks", EVERYONE, methods=("GET",))],
    order=60,
    description="Operational runbooks from the project's runbooks/ folder",
    dashboard_links=[DashboardLink(label="Runbooks", path="/runbooks")],
)
