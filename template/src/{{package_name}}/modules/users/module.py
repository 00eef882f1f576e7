"""Manifest of the users module."""

from ...core.plugins import ADMIN_ONLY, Access, DashboardLink, ModuleManifest
from .models import User
from .router import router

manifest = ModuleManifest(
    name="users",
    router=router,
    access=[Access("/users", ADMIN_ONLY)],
    models=[User],
    order=10,
    description="Accounts and roles",
    dashboard_links=[DashboardLink(label="People", path="/users", roles=("admin",))],
)
