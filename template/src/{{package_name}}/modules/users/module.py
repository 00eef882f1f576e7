"""Manifest of the users module."""

from ...core.plugins import DashboardLink, ModuleManifest
from .models import User
from .router import router

manifest = ModuleManifest(
    name="users",
    router=router,
    models=[User],
    order=10,
    description="Accounts and roles",
    dashboard_links=[DashboardLink(label="People", path="/users", roles=("admin",))],
)
