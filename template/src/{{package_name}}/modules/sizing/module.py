"""Manifest of the sizing module."""

from ...core.plugins import EVERYONE, Access, DashboardLink, ModuleManifest
from .router import router

manifest = ModuleManifest(
    name="sizing",
    router=router,
    access=[Access("/sizing", EVERYONE, methods=("POST",))],
    order=70,
    description="Resource recommendations from expected or observed load",
    dashboard_links=[DashboardLink(label="Capacity", path="/capacity")],
)
