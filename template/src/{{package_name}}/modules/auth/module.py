"""Manifest of the auth module."""

from ...core.plugins import EVERYONE, Access, ModuleManifest
from .router import router

manifest = ModuleManifest(
    name="auth",
    router=router,
    access=[Access("/auth/login", public=True), Access("/auth/me", EVERYONE)],
    order=10,
    description="Sign-in and roles",
)
