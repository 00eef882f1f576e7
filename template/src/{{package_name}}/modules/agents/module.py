"""Manifest of the agents module."""

from ...core.plugins import CONFIGURE, EVERYONE, Access, DashboardLink, ModuleManifest
from .cli import configs_cli
from .models import AgentConfig, AgentConfigVersion, AgentTestRun
from .router import router
from .settings import AgentSettings

manifest = ModuleManifest(
    name="agents",
    router=router,
    access=[
        # A file of every configuration (app keys with secrets): not for viewers.
        Access("/agent-configs/export", CONFIGURE),
        Access("/agent-configs", EVERYONE, methods=("GET",)),
        Access("/agent-configs", CONFIGURE),
    ],
    models=[AgentConfig, AgentConfigVersion, AgentTestRun],
    order=20,
    description="Registry of HiAgent agents, workflows, retrievers and tools",
    dashboard_links=[DashboardLink(label="Agents", path="/agents")],
    cli=configs_cli,
    settings=AgentSettings,
)
