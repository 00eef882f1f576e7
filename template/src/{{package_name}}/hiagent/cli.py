"""`<slug> hiagent ...`: tools for the HiAgent platform and its local emulator."""

from __future__ import annotations

import asyncio
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


@hiagent_cli.command()
def ping(
    app_key: Annotated[
        str | None, typer.Option(help="Also check that HiAgent accepts this app key")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer")] = 5.0,
) -> None:
    """Check that both HiAgent addresses answer and accept our credentials (exit 1 if not)."""
    # Imported here: the SDK takes a moment to import, and other commands do not need it.
    from ..core.settings import Settings
    from .ping import probe
    from .services import HiAgentNotConfiguredError, open_services
    from .settings import HiAgentSettings

    async def check() -> bool:
        async with open_services(Settings(), HiAgentSettings()) as services:
            results = await probe(services, app_key=app_key, timeout_s=timeout)
        for result in results:
            mark = (
                typer.style("ok  ", fg=typer.colors.GREEN)
                if result.ok
                else typer.style("FAIL", fg=typer.colors.RED)
            )
            typer.echo(f"{mark} {result.surface}: {result.address}\n     {result.message}")
        return all(result.ok for result in results)

    try:
        healthy = asyncio.run(check())
    except HiAgentNotConfiguredError as exc:
        typer.secho("HiAgent is not configured:", fg=typer.colors.RED, err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(code=2) from exc
    if not healthy:
        raise typer.Exit(code=1)
