"""`<slug> retention run`: apply the retention policy now."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from ...cli import fail, load_settings, use_embedded_database_if_unset
from ...core.db import Database, describe_database_error
from ...core.project import PROJECT_SLUG
from ...core.settings import Settings
from .service import RetentionReport, retention_lock, run_retention
from .settings import RetentionSettings

retention_cli = typer.Typer()
group = typer.Typer(
    help="Data retention: archive and delete what has expired.", no_args_is_help=True
)
retention_cli.add_typer(group, name="retention")


@group.command("run")
def run(
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Rows per transaction (RETENTION_BATCH_SIZE)")
    ] = None,
    pause_ms: Annotated[
        int, typer.Option(min=0, help="Pause between batches, to spare a busy database")
    ] = 0,
) -> None:
    """Archive the request log past its hot window; delete what is past its window.

    Safe to interrupt: each batch is one transaction; run it again to finish.
    """
    settings = use_embedded_database_if_unset(load_settings())
    options = RetentionSettings()
    if batch_size is not None:
        options = options.model_copy(update={"batch_size": batch_size})
    typer.echo(
        f"Retention: request log older than {settings.retention_request_log_hot_days} days "
        f"to the archive; archive older than {settings.retention_request_log_cold_days} days, "
        f"events older than {settings.retention_event_days} days, test runs older than "
        f"{options.test_run_days} days, minute roll-ups older than "
        f"{options.rollup_minute_days} days and hour and day roll-ups older than "
        f"{options.rollup_days} days deleted."
    )
    try:
        report = asyncio.run(_run(settings, options, pause_ms / 1000))
    except Exception as exc:
        fail(
            "Retention",
            describe_database_error(exc, settings.database_url),
            f"{PROJECT_SLUG} retention run",
        )
    if report is None:
        fail("Retention", "another retention run is in progress (on this or another instance)")
    typer.secho(
        f"✓ Moved {report.moved_to_archive} request-log rows to the archive; deleted "
        f"{report.archive_deleted} archived rows, {report.events_deleted} events, "
        f"{report.test_runs_deleted} test runs, {report.rollups_deleted} analytics roll-ups "
        f"and {report.throttles_deleted} expired sign-in throttles.",
        fg=typer.colors.GREEN,
    )


async def _run(
    settings: Settings, options: RetentionSettings, pause_s: float
) -> RetentionReport | None:
    assert settings.database_url is not None
    database = Database(settings.database_url, settings)
    try:
        async with retention_lock(database) as acquired:
            if not acquired:
                return None
            return await run_retention(
                database,
                settings,
                options,
                trigger="command",
                pause_s=pause_s,
                progress=lambda step, count: typer.echo(f"  {step.replace('_', ' ')}: {count}"),
            )
    finally:
        await database.dispose()
