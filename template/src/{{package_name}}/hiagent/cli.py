"""`<slug> hiagent ...`: tools for the HiAgent platform and its local emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

hiagent_cli = typer.Typer(help="HiAgent platform tools.", no_args_is_help=True)


@hiagent_cli.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 18080,
    scenarios: Annotated[
        Path | None, typer.Option(help="JSON file of scenarios per app key", exists=True)
    ] = None,
    access_key: Annotated[str | None, typer.Option(envvar="VOLC_ACCESSKEY")] = None,
    secret_key: Annotated[str | None, typer.Option(envvar="VOLC_SECRETKEY")] = None,
) -> None:
    """Run the local HiAgent emulator (a test double speaking the SDK's wire protocol)."""
    from .emulator import run_emulator

    typer.echo(
        f"HiAgent emulator on http://{host}:{port}\n"
        f"  HIAGENT_TOP_ENDPOINT=http://{host}:{port}\n"
        f"  HIAGENT_APP_BASE_URL=http://{host}:{port}/api/proxy/api/v1"
    )
    run_emulator(
        host=host,
        port=port,
        scenarios_file=scenarios,
        access_key=access_key if secret_key else None,
        secret_key=secret_key if access_key else None,
    )
