"""Manifest of the tasks module: background runs on the worker, its CLI and dev services."""

from ...core.plugins import EVERYONE, Access, ModuleManifest
from ...worker.cli import worker_cli
from ...worker.dev import start_dev_services
from .lifespan import lifespan, setup
from .models import Task
from .router import router

manifest = ModuleManifest(
    name="tasks",
    router=router,
    access=[
        Access("/agents", EVERYONE, methods=("POST",)),
        Access("/workflows", EVERYONE, methods=("POST",)),
        Access("/tasks", EVERYONE, methods=("GET",)),
    ],
    models=[Task],
    order=50,
    description="Background agent and workflow runs on the worker (Dramatiq on Redis)",
    setup=setup,
    lifespan=lifespan,
    dev=start_dev_services,
    cli=worker_cli,
)
