"""`<slug> configs export | import | seed`: agent configurations as a reviewed file.

Promote configurations from one environment to the next: export, review the file (in a pull
request, say), import it there. See docs/agents.md.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from ...cli import fail, load_settings, use_embedded_database_if_unset
from ...core.db import Database, describe_database_error
from ...core.errors import AppError
from ...core.project import PROJECT_SLUG
from ...core.settings import Settings
from .schemas import AgentConfigsFile, ChangeAction, ConfigChange
from .settings import AgentSettings
from .transfer import IMPORTED, SEEDED, all_configs, apply, export_file, render_file

T = TypeVar("T")

configs_cli = typer.Typer()
configs_group = typer.Typer(
    help="Agent configurations as a file: export, import, seed from HIAGENT_AGENTS.",
    no_args_is_help=True,
)
configs_cli.add_typer(configs_group, name="configs")

_VERBS = {
    ChangeAction.CREATE: "create",
    ChangeAction.UPDATE: "update",
    ChangeAction.UNCHANGED: "unchanged",
    ChangeAction.KEPT: "keep",
}


def _run(settings: Settings, step: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def session_run() -> T:
        assert settings.database_url is not None
        database = Database(settings.database_url, settings)
        try:
            async with database.session() as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(session_run())
    except AppError as exc:
        problems = exc.details.get("problems")
        if isinstance(problems, list):
            typer.secho(f"✗ {step} failed: nothing was changed.", fg=typer.colors.RED, err=True)
            for problem in problems:
                typer.echo(f"  - {problem}", err=True)
            raise typer.Exit(code=1) from None
        fail(step, exc.message)
    except Exception as exc:
        fail(step, describe_database_error(exc, settings.database_url))


def print_changes(changes: list[ConfigChange], *, dry_run: bool) -> None:
    """One line per configuration: what happens to it and which settings change."""
    for change in changes:
        line = f"  {_VERBS[change.action]:<9} {change.name}"
        if change.fields and change.action is not ChangeAction.CREATE:
            line += f" ({', '.join(change.fields)})"
        if change.note:
            line += f": {change.note}"
        typer.echo(line)
    counts = {action: sum(c.action is action for c in changes) for action in ChangeAction}
    created, updated = ("to create", "to update") if dry_run else ("created", "updated")
    summary = (
        f"{counts[ChangeAction.CREATE]} {created}, {counts[ChangeAction.UPDATE]} {updated}, "
        f"{counts[ChangeAction.UNCHANGED]} unchanged"
    )
    if counts[ChangeAction.KEPT]:
        summary += f", {counts[ChangeAction.KEPT]} kept as a person changed them"
    if dry_run:
        summary = f"Dry run: {summary}. Nothing was written"
    typer.secho(f"✓ {summary}.", fg=typer.colors.GREEN)


@configs_group.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: print it)")
    ] = None,
    with_secrets: Annotated[
        bool, typer.Option(help="Include the app keys in clear (keep such a file secret)")
    ] = False,
) -> None:
    """Write every agent configuration as JSON, sorted by name; app keys left out."""
    settings = use_embedded_database_if_unset(load_settings())

    async def read(session: AsyncSession) -> str:
        return render_file(export_file(await all_configs(session), with_secrets=with_secrets))

    text = _run(settings, "Exporting the configurations", read)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    typer.secho(f"✓ Configurations written to {output}", fg=typer.colors.GREEN, err=True)


@configs_group.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A file made by `configs export`")],
    dry_run: Annotated[bool, typer.Option(help="Print what would change; write nothing")] = False,
) -> None:
    """Create or update configurations from a file, all or nothing.

    Configurations not in the file are left alone; without an app key, one keeps its own.
    """
    try:
        document = AgentConfigsFile.model_validate_json(file.read_bytes())
    except OSError as exc:
        fail("Importing the configurations", f"cannot read {file}: {exc.strerror}")
    except ValidationError as exc:
        typer.secho(
            f"✗ {file} is not a configurations file (nothing was changed):",
            fg=typer.colors.RED,
            err=True,
        )
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "the file"
            typer.echo(f"  - {where}: {error['msg']}", err=True)
        typer.echo(f"  Make one with: {PROJECT_SLUG} configs export -o {file.name}", err=True)
        raise typer.Exit(code=1) from None
    settings = use_embedded_database_if_unset(load_settings())
    changes = _run(
        settings,
        "Importing the configurations",
        lambda session: apply(
            session, document.configs, change=IMPORTED, user_id=None, dry_run=dry_run
        ),
    )
    print_changes(changes, dry_run=dry_run)


def seed_from_environment(settings: Settings, *, overwrite: bool | None = None) -> None:
    """Create or refresh the configurations HIAGENT_AGENTS names (run by `bootstrap`).

    A configuration a person changed since is kept, unless `overwrite` (or
    HIAGENT_AGENTS_OVERWRITE) says to replace it. All or nothing.
    """
    options = AgentSettings()
    entries = options.entries()
    if not entries:
        return
    replace = options.agents_overwrite if overwrite is None else overwrite
    changes = _run(
        settings,
        "Setting up the agents of HIAGENT_AGENTS",
        lambda session: apply(
            session, entries, change=SEEDED, user_id=None, keep_edited=not replace
        ),
    )
    typer.echo(f"• Agents from HIAGENT_AGENTS{' (overwrite)' if replace else ''}:")
    print_changes(changes, dry_run=False)


@configs_group.command("seed")
def seed_command(
    overwrite: Annotated[
        bool,
        typer.Option(help="Also replace configurations changed in the dashboard since"),
    ] = False,
) -> None:
    """Create or refresh the configurations HIAGENT_AGENTS names (as `bootstrap` does)."""
    settings = use_embedded_database_if_unset(load_settings())
    try:
        options = AgentSettings()
    except ValidationError as exc:
        fail("Reading HIAGENT_AGENTS", "; ".join(str(e["msg"]) for e in exc.errors()))
    if not options.entries():
        typer.echo("HIAGENT_AGENTS is not set: nothing to do.")
        return
    seed_from_environment(settings, overwrite=overwrite or None)
