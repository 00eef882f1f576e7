"""Manifest of the analytics module."""

from ...core.plugins import ModuleManifest
from .models import RequestLog

manifest = ModuleManifest(
    name="analytics", models=[RequestLog], order=30, description="Request log and usage"
)
