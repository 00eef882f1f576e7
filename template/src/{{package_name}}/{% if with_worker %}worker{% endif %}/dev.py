"""`dev` support: an embedded Redis where none is configured, and a worker process.

Both are started by `<slug> dev` and stopped when it exits: on Ctrl-C, on SIGTERM, or when it
dies (docs/worker.md, "Running workers").
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import typer

from ..core.project import PACKAGE_NAME
from .embedded import LOOPBACK, RedisServer, start_redis_server
from .settings import WorkerSettings, get_worker_settings

EMBEDDED_REDIS_DIR = Path(".data/redis")
# Set by `dev` for its worker: the worker stops when the process with this PID goes.
PARENT_PID_VARIABLE = "WORKER_STOP_WITH_PID"
_WORKER_STOP_TIMEOUT_S = 10.0
_PARENT_POLL_S = 0.5


def redis_is_configured(settings: WorkerSettings) -> bool:
    """Whether REDIS_HOST/REDIS_PORT or REDIS_SENTINELS were set (environment or .env)."""
    return bool({"redis_host", "redis_port", "redis_sentinels"} & settings.model_fields_set)


def start_dev_services() -> None:
    """Start an embedded Redis when REDIS_* are unset, then one worker process."""
    if not redis_is_configured(WorkerSettings()):
        # Append-only file: queued tasks survive a restart of `dev`. Its own session: Ctrl-C in
        # the terminal must not stop it before the worker has left.
        server = start_redis_server(EMBEDDED_REDIS_DIR, config=["appendonly yes"], own_session=True)
        atexit.register(_stop_redis, server)
        os.environ.update(REDIS_MODE="standalone", REDIS_HOST=LOOPBACK, REDIS_PORT=str(server.port))
        get_worker_settings.cache_clear()
        typer.echo(f"• Redis:         {LOOPBACK}:{server.port} (embedded, {EMBEDDED_REDIS_DIR}/)")
    worker_command = [sys.executable, "-m", PACKAGE_NAME, "worker", "--processes", "1"]
    # Below the API's priority, so the API is ready first on a busy laptop (docs/performance.md).
    if nice := shutil.which("nice"):
        worker_command = [nice, "-n", "10", *worker_command]
    # A process group of its own: the terminal's Ctrl-C reaches `dev` only, which stops the
    # worker's whole group (its forked processes too) while Redis is still up.
    worker = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [*worker_command, "--metrics-port", "0"],
        env={**os.environ, PARENT_PID_VARIABLE: str(os.getpid())},
        process_group=0,
    )
    atexit.register(stop_worker, worker)
    typer.echo(f"• Worker:        pid {worker.pid} (stops with this command)")


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """Stop the worker: SIGTERM, then SIGKILL to its whole group after a timeout or a second
    Ctrl-C."""
    # Registered after Redis, so it runs before it: the worker leaves while Redis is up.
    if worker.poll() is None:
        # To its main process only, which stops the processes it forked (a second SIGTERM would
        # make them quit at once instead of finishing their tasks).
        worker.terminate()
        try:
            worker.wait(timeout=_WORKER_STOP_TIMEOUT_S)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            _signal_group(worker.pid, signal.SIGKILL)
            worker.wait()
    # Anything the worker forked and left behind.
    _signal_group(worker.pid, signal.SIGKILL)


def _stop_redis(server: RedisServer) -> None:
    try:
        server.stop()
    except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
        server.kill()


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def stop_with_parent() -> None:
    """In a worker started by `dev`: stop when `dev` goes, even killed without clean-up."""
    parent = os.environ.pop(PARENT_PID_VARIABLE, None)
    if parent is None:
        return
    _watch_parent(int(parent))
    # The processes Dramatiq forks watch the one that forked them: if it dies before it could
    # stop them, they stop themselves.
    os.register_at_fork(after_in_child=lambda: _watch_parent(os.getppid()))


def _watch_parent(parent_pid: int) -> None:
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)  # the graceful stop Dramatiq handles
        time.sleep(_WORKER_STOP_TIMEOUT_S)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()
