"""Manifest of the retention module: the daily run and `retention run`."""

from ...core.plugins import ModuleManifest
from .cli import retention_cli
from .models import RetentionRun
from .scheduler import lifespan

manifest = ModuleManifest(
    name="retention",
    models=[RetentionRun],
    order=90,
    description="Request-log archive and data retention (daily, and `retention run`)",
    lifespan=lifespan,
    cli=retention_cli,
)
