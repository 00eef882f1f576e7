"""Manifest of the auth module."""

from ...core.plugins import ModuleManifest
from .router import router

manifest = ModuleManifest(name="auth", router=router, order=10, description="Sign-in and roles")
