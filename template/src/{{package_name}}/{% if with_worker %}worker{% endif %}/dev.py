"""`dev` support: an embedded Redis where none is configured, and a worker process.

Both are started by `<slug> dev` and stopped when it exits.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from pathlib import Path

import typer

from ..core.project import PACKAGE_NAME
from .embedded import LOOPBACK, start_redis_server
from .settings import WorkerSettings, get_worker_settings

EMBEDDED_REDIS_DIR = Path(".data/redis")
_WORKER_STOP_TIMEOUT_S = 15.0


def redis_is_configured(settings: WorkerSettings) -> bool:
    """Whether REDIS_HOST/REDIS_PORT or REDIS_SENTINELS were set (environment or .env)."""
    return bool({"redis_host", "redis_port", "redis_sentinels"} & settings.model_fields_set)


def start_dev_services() -> None:
    """Start an embedded Redis when REDIS_* are unset, then one worker process."""
    if not redis_is_configured(WorkerSettings()):
        # Append-only file: queued tasks survive a restart of `dev`.
        server = start_redis_server(EMBEDDED_REDIS_DIR, config=["appendonly yes"])
        atexit.register(server.stop)
        os.environ.update(REDIS_MODE="standalone", REDIS_HOST=LOOPBACK, REDIS_PORT=str(server.port))
        get_worker_settings.cache_clear()
        typer.echo(
            f"• Embedded Redis at {LOOPBACK}:{server.port} "
            f"(data in {EMBEDDED_REDIS_DIR}/, stops when this exits)"
        )
    worker = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", PACKAGE_NAME, "worker", "--processes", "1", "--metrics-port", "0"]
    )
    atexit.register(_stop, worker)
    typer.echo(f"• Worker running (pid {worker.pid}; stops when this exits)")


def _stop(worker: subprocess.Popen[bytes]) -> None:
    # Registered after Redis, so it runs before it: the worker leaves while Redis is up.
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=_WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
