"""Command line of the service: dev, serve, migrate, bootstrap, create-user, hiagent, sizing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from .core.db import Database, describe_database_error
from .core.envfile import ENV_FILE, ensure_env_file
from .core.module_settings import load_module_settings
from .core.plugins import ModuleLoadError, discover_modules
from .core.project import PACKAGE_NAME, PROJECT_NAME, PROJECT_SLUG
from .core.settings import ConfigurationError, Settings, get_settings
from .hiagent.cli import hiagent_cli
from .modules.users.models import Role

if TYPE_CHECKING:
    from .hiagent.emulator import EmulatorServer

# What only some commands use (Alembic, the emulator, the embedded PostgreSQL, the scaffold,
# sizing) is imported inside them: `serve` starts faster (docs/performance.md).

cli = typer.Typer(
    name=PROJECT_SLUG,
    help=f"{PROJECT_NAME}: an AI product on HiAgent.",
    no_args_is_help=True,
    add_completion=False,
)
cli.add_typer(hiagent_cli, name="hiagent")

EMBEDDED_PG_DIR = Path(".data/postgres")
APP_FACTORY = f"{PACKAGE_NAME}.app:create_app"


def fail(step: str, problem: str, rerun: str | None = None) -> NoReturn:
    """Print which step failed, why, and the command to rerun; exit non-zero."""
    typer.secho(f"✗ {step} failed: {problem}", fg=typer.colors.RED, err=True)
    if rerun:
        typer.echo(f"  Fix the problem above, then rerun: {rerun}", err=True)
    raise typer.Exit(code=1)


def load_settings() -> Settings:
    """Settings, or exit 2 with every configuration problem listed."""
    get_settings.cache_clear()
    settings = get_settings()
    try:
        settings.validate_for_start()
    except ConfigurationError as exc:
        report_configuration_problems(settings, exc.problems)
    return settings


def report_configuration_problems(settings: Settings, problems: list[str]) -> NoReturn:
    """Print every configuration problem and exit 2."""
    typer.secho(
        f"Cannot start ({settings.app_env} profile): the configuration has "
        f"{len(problems)} problem(s):",
        fg=typer.colors.RED,
        err=True,
    )
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    typer.echo("Set them in the environment or in .env (see .env.example).", err=True)
    raise typer.Exit(code=2)


def use_embedded_database_if_unset(settings: Settings) -> Settings:
    """In dev with no DATABASE_URL, start the embedded PostgreSQL and point settings at it."""
    if settings.database_url or not settings.is_dev:
        return settings
    from .core.embedded import EmbeddedServiceError, start_embedded_postgres

    try:
        url, _server = start_embedded_postgres(EMBEDDED_PG_DIR)
    except EmbeddedServiceError as exc:
        fail("Starting the embedded PostgreSQL", str(exc), f"{PROJECT_SLUG} dev")
    os.environ["DATABASE_URL"] = url
    typer.echo(f"• Embedded PostgreSQL running in {EMBEDDED_PG_DIR}/ (stops when this exits)")
    return load_settings()


def use_emulator_if_unset(settings: Settings) -> tuple[Settings, EmulatorServer | None]:
    """In dev with no HiAgent endpoints, start the local emulator and point settings at it."""
    if settings.hiagent_top_endpoint or settings.hiagent_app_base_url or not settings.is_dev:
        return settings, None
    from .hiagent.emulator import EmulatorServer

    os.environ.setdefault("VOLC_ACCESSKEY", "dev-access-key")
    os.environ.setdefault("VOLC_SECRETKEY", "dev-secret-key")
    server = EmulatorServer(
        access_key=os.environ["VOLC_ACCESSKEY"], secret_key=os.environ["VOLC_SECRETKEY"]
    ).start()
    os.environ["HIAGENT_TOP_ENDPOINT"] = server.top_endpoint
    os.environ["HIAGENT_APP_BASE_URL"] = server.app_base_url
    typer.echo(f"• HiAgent emulator at {server.top_endpoint} (any app key answers; see docs)")
    return load_settings(), server


def start_module_dev_services(settings: Settings) -> Settings:
    """Let each module start what it needs locally (embedded services, helper processes)."""
    started = False
    for module in discover_modules():
        if module.dev is None:
            continue
        try:
            module.dev()
        except Exception as exc:
            fail(f"Starting {module.name!r} for development", str(exc), f"{PROJECT_SLUG} dev")
        started = True
    return load_settings() if started else settings


def prepare_modules() -> None:
    """Let each module prepare what it serves (for example, build the dashboard)."""
    for module in discover_modules():
        if module.prepare is None:
            continue
        try:
            module.prepare()
        except Exception as exc:
            fail(f"Preparing module {module.name!r}", str(exc), f"{PROJECT_SLUG} bootstrap")


def run_migrations(settings: Settings, revision: str = "heads") -> None:
    """Upgrade the database to `revision` (every branch's head), or exit naming the problem."""
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    from .core.migrations import upgrade

    assert settings.database_url is not None
    try:
        upgrade(settings.database_url, revision)
    except (CommandError, RevisionError) as exc:
        # Alembic's own refusal (an unknown revision, say), not a database problem.
        fail(
            "Migrating the database",
            f"{exc} (list them: uv run {PROJECT_SLUG} alembic history)",
        )
    except Exception as exc:
        fail(
            "Migrating the database",
            describe_database_error(exc, settings.database_url),
            f"{PROJECT_SLUG} migrate",
        )


async def _seed_admin(settings: Settings, password: str) -> tuple[str, bool]:
    from .modules.users.service import ensure_admin

    assert settings.database_url is not None
    database = Database(settings.database_url, settings)
    try:
        async with database.session() as session:
            user, created = await ensure_admin(
                session,
                username=settings.hiagent_admin_username,
                email=settings.hiagent_admin_email,
                password=password,
            )
            return user.username, created
    finally:
        await database.dispose()


def seed_admin(settings: Settings) -> bool:
    """Create the admin from HIAGENT_ADMIN_* when missing; True if created now."""
    if settings.hiagent_admin_password is None:
        fail(
            "Creating the admin",
            "HIAGENT_ADMIN_PASSWORD is not set (it is generated into .env in development)",
            f"HIAGENT_ADMIN_PASSWORD=... {PROJECT_SLUG} bootstrap",
        )
    try:
        _, created = asyncio.run(
            _seed_admin(settings, settings.hiagent_admin_password.get_secret_value())
        )
    except Exception as exc:
        fail(
            "Creating the admin",
            describe_database_error(exc, settings.database_url),
            f"{PROJECT_SLUG} bootstrap",
        )
    return created


def print_login(settings: Settings, *, show_password: bool) -> None:
    """Tell the person how to sign in."""
    typer.echo(f"• Admin user: {settings.hiagent_admin_username}")
    if show_password and settings.hiagent_admin_password is not None:
        typer.echo(f"  Password:   {settings.hiagent_admin_password.get_secret_value()}")
    else:
        typer.echo(f"  Password:   HIAGENT_ADMIN_PASSWORD in {ENV_FILE}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Server processes (default: WEB_CONCURRENCY, else one per CPU in staging and "
            "prod, one in dev)",
            show_default=False,
        ),
    ] = None,
    keep_alive: Annotated[
        int,
        typer.Option(
            min=1,
            help="Seconds an idle client connection stays open: above your load balancer's "
            "idle timeout (60 s on most), or it may reuse a connection just closed (a 502)",
        ),
    ] = 75,
) -> None:
    """Serve the API (production style: no reload)."""
    import uvicorn

    settings = load_settings()
    if not settings.database_url:
        fail("Starting", "DATABASE_URL is not set", f"DATABASE_URL=... {PROJECT_SLUG} serve")
    ensure_modules_load(settings)
    processes = workers or settings.server_processes
    if processes > 1:
        _share_metrics_between_processes(port)
    typer.echo(f"• Serving on {host}:{port} with {processes} process(es) ({settings.app_env})")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=processes,
        proxy_headers=True,
        timeout_keep_alive=keep_alive,
        log_config=None,
        access_log=False,
    )


def _share_metrics_between_processes(port: int) -> None:
    """Each server process writes its metrics to files that `/metrics` adds up."""
    import shutil
    import tempfile

    from .core.metrics import MULTIPROCESS_DIR_VARIABLE

    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        return  # the operator chose the folder (a volume, say) and cleans it
    directory = Path(tempfile.gettempdir()) / f"{PACKAGE_NAME}-api-metrics-{port}"
    # Files of an earlier run would add its counts to this one's.
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    # Read by the server processes, which are started fresh (not forked) after this.
    os.environ[MULTIPROCESS_DIR_VARIABLE] = str(directory)


@cli.command()
def migrate(
    revision: Annotated[
        str, typer.Option(help="Target revision (default: the head of every module's branch)")
    ] = "heads",
) -> None:
    """Apply database migrations (embedded PostgreSQL in dev when DATABASE_URL is unset)."""
    settings = use_embedded_database_if_unset(load_settings())
    if not settings.database_url:
        fail("Migrating", "DATABASE_URL is not set", f"DATABASE_URL=... {PROJECT_SLUG} migrate")
    run_migrations(settings, revision)
    typer.secho(f"✓ Database migrated to {revision}", fg=typer.colors.GREEN)


@cli.command(
    "alembic",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def alembic_command(context: typer.Context) -> None:
    """Alembic over every module's migrations, e.g. `alembic history` (`alembic --help`)."""
    from .core.migrations import run_alembic

    settings = load_settings()
    if context.args and context.args[0] not in ("--help", "-h", "history", "heads", "branches"):
        settings = use_embedded_database_if_unset(settings)
    run_alembic(context.args, settings.database_url or "postgresql://unset", PROJECT_SLUG)


@cli.command()
def bootstrap() -> None:
    """Idempotent set-up: migrate, create the admin if missing, set up HIAGENT_AGENTS.

    The admin comes from HIAGENT_ADMIN_*; agents a person changed since are kept unless
    HIAGENT_AGENTS_OVERWRITE=true (docs/agents.md).

    In development it also writes generated secrets into .env when they are missing.
    """
    if os.environ.get("APP_ENV", "dev") == "dev":
        generated = ensure_env_file()
        if generated:
            typer.echo(f"• Generated {', '.join(generated)} into {ENV_FILE} (git-ignored)")
    settings = use_embedded_database_if_unset(load_settings())
    if not settings.database_url:
        fail("Bootstrap", "DATABASE_URL is not set", f"DATABASE_URL=... {PROJECT_SLUG} bootstrap")
    ensure_modules_load(settings)  # a wrong module setting (HIAGENT_AGENTS) stops it here
    run_migrations(settings)
    typer.echo("• Database migrated")
    created = seed_admin(settings)
    from .modules.agents.cli import seed_from_environment

    seed_from_environment(settings)
    prepare_modules()
    if created:
        typer.secho("✓ Admin created. Sign in with:", fg=typer.colors.GREEN)
        # Outside dev the operator supplied the password: never echo it into deployment logs.
        print_login(settings, show_password=settings.is_dev)
    else:
        typer.secho(
            f"✓ Admin {settings.hiagent_admin_username!r} already exists", fg=typer.colors.GREEN
        )


@cli.command("create-user")
def create_user_command(
    username: Annotated[str, typer.Option(prompt=True)],
    email: Annotated[str, typer.Option(prompt=True)],
    role: Annotated[Role, typer.Option(case_sensitive=False)] = Role.VIEWER,
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="NEW_USER_PASSWORD"
        ),
    ] = "",
) -> None:
    """Create a user (admin, configurator or viewer)."""
    from pydantic import ValidationError

    from .core.errors import AppError
    from .modules.users.schemas import UserCreate
    from .modules.users.service import create_user

    settings = use_embedded_database_if_unset(load_settings())
    try:
        data = UserCreate(username=username, email=email, password=password, role=role)
    except ValidationError as exc:
        fail("Creating the user", "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()))

    async def _create() -> None:
        assert settings.database_url is not None
        database = Database(settings.database_url, settings)
        try:
            async with database.session() as session:
                await create_user(session, data)
        finally:
            await database.dispose()

    try:
        asyncio.run(_create())
    except AppError as exc:
        fail("Creating the user", exc.message)
    typer.secho(f"✓ User {username!r} created with role {role.value}", fg=typer.colors.GREEN)


@cli.command()
def dev(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes")] = True,
) -> None:
    """Run a complete local system: embedded services where unset, migrate, seed, serve."""
    import uvicorn

    # SIGTERM exits like Ctrl-C: clean-up (worker, embedded services) runs, nothing is left behind.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Bytecode caches even where PYTHONDONTWRITEBYTECODE is set (container images set it): without
    # them each start compiles every module again, in each process (docs/performance.md).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    os.environ.setdefault("APP_ENV", "dev")
    generated = ensure_env_file()
    if generated:
        typer.echo(f"• Generated {', '.join(generated)} into {ENV_FILE} (git-ignored)")
    settings = load_settings()
    ensure_modules_load(settings)
    settings = use_embedded_database_if_unset(settings)
    settings, _emulator = use_emulator_if_unset(settings)
    settings = start_module_dev_services(settings)
    run_migrations(settings)
    created = seed_admin(settings)
    prepare_modules()
    typer.secho(f"✓ {PROJECT_NAME} is starting", fg=typer.colors.GREEN)
    if any(module.name == "dashboard" for module in discover_modules()):
        typer.echo(f"• Dashboard:     http://{host}:{port}/")
    typer.echo(f"• API:           http://{host}:{port}/api/v1  (docs: http://{host}:{port}/docs)")
    typer.echo(f"• Health:        http://{host}:{port}/health/ready")
    typer.echo(f"• HiAgent:       {settings.hiagent_app_base_url}")
    print_login(settings, show_password=True)
    if created:
        typer.echo("  (admin created just now)")
    sys.stdout.flush()
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        reload=reload,
        reload_dirs=[str(Path(__file__).resolve().parent)] if reload else None,
        log_config=None,
        access_log=False,
    )


def _exit_on_sigterm(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


@cli.command("add-module")
def add_module(
    name: Annotated[str, typer.Argument(help="Module name, e.g. billing")],
) -> None:
    """Scaffold a complete module: model, schemas, service, router, migration and tests."""
    from .core.scaffold import scaffold_module

    try:
        created = scaffold_module(name)
    except (ValueError, ModuleLoadError) as exc:
        fail("Adding the module", str(exc))
    root = Path.cwd()
    for path in created:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        typer.echo(f"  + {shown}")
    typer.secho(f"✓ Module {name!r} added.", fg=typer.colors.GREEN)
    typer.echo(f"  Next: {PROJECT_SLUG} migrate, then uv run pytest (the whole suite)")


@cli.command("check-modules")
def check_modules_command() -> None:
    """Validate every module's structure and manifest; exit 1 naming each problem."""
    from .core.module_check import check_modules

    names, problems = check_modules()
    for problem in problems:
        typer.secho(f"✗ {problem}", fg=typer.colors.RED, err=True)
    if problems:
        raise typer.Exit(code=1)
    typer.secho(f"✓ {len(names)} modules are valid: {', '.join(names)}", fg=typer.colors.GREEN)


def ensure_modules_load(settings: Settings) -> None:
    """Fail start-up early, naming the broken module, instead of deep in the server."""
    try:
        modules = discover_modules()
    except ModuleLoadError as exc:
        fail("Loading modules", str(exc), f"{PROJECT_SLUG} check-modules")
    _, problems = load_module_settings(modules)
    if problems:
        report_configuration_problems(settings, problems)


@cli.command()
def sizing(
    peak_requests_per_minute: Annotated[float, typer.Option(min=0)] = 60,
    average_call_seconds: Annotated[float, typer.Option(min=0.001)] = 8.0,
    average_tokens_per_call: Annotated[int, typer.Option(min=0)] = 1500,
    observed: Annotated[
        bool, typer.Option(help="Start from the last 7 days of recorded traffic")
    ] = False,
) -> None:
    """Recommend instances, limits, connections and storage for a load."""
    from .modules.sizing.calculator import SizingInput, recommend
    from .modules.sizing.router import WORKER_SIZING

    settings = load_settings()
    values: dict[str, float] = {
        "peak_requests_per_minute": peak_requests_per_minute,
        "average_call_seconds": average_call_seconds,
        "average_tokens_per_call": average_tokens_per_call,
    }
    source = "the figures you entered"
    if observed:
        settings = use_embedded_database_if_unset(settings)
        seen = asyncio.run(_observed(settings))
        if seen is None:
            typer.echo("No traffic recorded in the last 7 days: using the values given.")
        else:
            values.update(seen)
            source = "last week's calls"
    load = SizingInput(
        **values,
        hot_retention_days=settings.retention_request_log_hot_days,
        cold_retention_days=settings.retention_request_log_cold_days,
        db_pool_size=settings.db_pool_size,
        db_max_overflow=settings.db_max_overflow,
        server_processes=settings.server_processes,
    )
    result = recommend(load, source=source, worker=WORKER_SIZING)
    typer.echo(f"Recommendations (based on {result.source}):")
    for item in result.recommendations:
        where = f" [set: {item.setting}]" if item.setting else ""
        typer.echo(f"  {item.label:<44} {item.amount():>26} {item.reason}{where}")


async def _observed(settings: Settings) -> dict[str, float] | None:
    from .modules.sizing.observed import observed_load

    assert settings.database_url is not None
    database = Database(settings.database_url, settings)
    try:
        async with database.session() as session:
            return await observed_load(session)
    finally:
        await database.dispose()


def _add_module_commands() -> None:
    # A broken module must not take the whole CLI down: start-up names it instead.
    try:
        modules = discover_modules()
    except ModuleLoadError as exc:
        typer.secho(
            f"! Commands of modules are unavailable: {exc}", fg=typer.colors.YELLOW, err=True
        )
        return
    for module in modules:
        if module.cli is not None:
            cli.add_typer(module.cli)


def main() -> None:
    """Console-script entry point."""
    _add_module_commands()
    cli()
