"""Manifest of the analytics module."""

from ...core.plugins import EVERYONE, Access, DashboardLink, ModuleManifest
from .lifespan import run_request_recorder
from .models import RequestLog, RequestLogRollup
from .router import router

manifest = ModuleManifest(
    name="analytics",
    router=router,
    access=[Access("/analytics", EVERYONE, methods=("GET",))],
    models=[RequestLog, RequestLogRollup],
    order=30,
    description="Request log, usage roll-ups and analytics",
    dashboard_links=[DashboardLink(label="Analytics", path="/analytics")],
    lifespan=run_request_recorder,
)
