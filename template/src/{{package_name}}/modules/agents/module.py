"""Manifest of the agents module."""

from ...core.plugins import CONFIGURE, EVERYONE, Access, DashboardLink, ModuleManifest
from .models import AgentConfig, AgentConfigVersion, AgentTestRun
from .router import router

manifest = ModuleManifest(
    name="agents",
    router=router,
    access=[
        Access("/agent-configs", EVERYONE, methods=("GET",)),
        Access("/agent-configs", CONFIGURE),
    ],
    models=[AgentConfig, AgentConfigVersion, AgentTestRun],
    order=20,
    description="Registry of HiAgent agents, workflows, retrievers and tools",
    dashboard_links=[DashboardLink(label="Agents", path="/agents")],
)
