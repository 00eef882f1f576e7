"""`<slug> worker`: run the background workers (Dramatiq processes on Redis)."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from dramatiq.cli import main as dramatiq_main
from dramatiq.cli import make_argument_parser

from ..cli import fail, load_settings
from ..core.project import PACKAGE_NAME, PROJECT_SLUG
from ..core.settings import ConfigurationError
from .dev import stop_with_parent
from .metrics_server import DEFAULT_METRICS_HOST, METRICS_HOST_VARIABLE, METRICS_PORT_VARIABLE
from .settings import get_worker_settings

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

worker_cli = typer.Typer()


@worker_cli.command()
def worker(
    processes: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    threads: Annotated[int, typer.Option(min=1, help="Tasks run at once per process")] = 8,
    metrics_port: Annotated[
        int,
        typer.Option(envvar=METRICS_PORT_VARIABLE, min=0, help="Port of /metrics (0: none)"),
    ] = 9191,
    metrics_host: Annotated[
        str,
        typer.Option(
            envvar=METRICS_HOST_VARIABLE,
            help="Address /metrics listens on (0.0.0.0: every interface, as in a container)",
        ),
    ] = DEFAULT_METRICS_HOST,
) -> None:
    """Run background tasks (agent and workflow runs) and event delivery from Redis."""
    stop_with_parent()
    settings = load_settings()
    if not settings.database_url:
        fail(
            "Starting the worker",
            "DATABASE_URL is not set",
            f"DATABASE_URL=... {PROJECT_SLUG} worker",
        )
    worker_settings = get_worker_settings()
    try:
        worker_settings.validate_for_start()
    except ConfigurationError as exc:
        fail("Starting the worker", "; ".join(exc.problems))
    arguments = [f"{PACKAGE_NAME}.worker.actors", "--processes", str(processes)]
    arguments += ["--threads", str(threads)]
    if metrics_port:
        _check_metrics_host(metrics_host, metrics_port)
        # The metrics process is forked later and reads where to listen from here.
        os.environ[METRICS_HOST_VARIABLE] = metrics_host
        if not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
            _restart_with_multiprocess_metrics(metrics_port)
        arguments += ["--fork-function", f"{PACKAGE_NAME}.worker.metrics_server:serve_metrics"]
    typer.echo(
        f"• Worker: {processes} process(es) x {threads} thread(s) on {worker_settings.describe()}"
        + (
            f"; metrics on http://{_url_host(metrics_host)}:{metrics_port}/metrics"
            if metrics_port
            else ""
        )
    )
    # In this process, so the worker processes are forked with everything already imported.
    code = dramatiq_main(make_argument_parser().parse_args(arguments))  # type: ignore[no-untyped-call]
    if metrics_port and os.environ[MULTIPROCESS_DIR_VARIABLE] == str(_metrics_dir(metrics_port)):
        shutil.rmtree(_metrics_dir(metrics_port), ignore_errors=True)
    raise typer.Exit(code or 0)


def _check_metrics_host(host: str, port: int) -> None:
    # The metrics server starts in a forked process, where a bad address is easy to miss.
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        fail(
            "Starting the worker",
            f"{METRICS_HOST_VARIABLE}={host!r} is not an address to listen on ({exc})",
            f"{METRICS_HOST_VARIABLE}=127.0.0.1 {PROJECT_SLUG} worker",
        )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _metrics_dir(port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"{PACKAGE_NAME}-worker-metrics-{port}"


def _restart_with_multiprocess_metrics(port: int) -> None:
    # Prometheus picks its multiprocess mode when first imported: start over with it set.
    directory = _metrics_dir(port)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ.update({MULTIPROCESS_DIR_VARIABLE: str(directory), METRICS_PORT_VARIABLE: str(port)})
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", PACKAGE_NAME, *sys.argv[1:]])  # noqa: S606
