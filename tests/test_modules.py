"""Extensibility end to end: add-module, check-modules, a broken module, an installed plugin."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import UV, render

pytestmark = pytest.mark.slow
PACKAGE = "acme_support"
SLUG = "acme-support"


def run(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    return subprocess.run(
        [UV, "run", "--no-sync", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**base, **(env or {})},
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("modules") / "acme"
    result = render(destination, {"project_name": "Acme Support", "run_bootstrap": "false"})
    assert result.returncode == 0, result.stderr
    subprocess.run([UV, "sync", "-q"], cwd=destination, check=True, timeout=600)
    return destination


def openapi_paths(project: Path, env: dict[str, str] | None = None) -> list[str]:
    code = (
        f"import json; from {PACKAGE}.app import create_app; "
        "print(json.dumps(sorted(create_app().openapi()['paths'])))"
    )
    result = run(project, "python", "-c", code, env={"APP_ENV": "dev", **(env or {})})
    assert result.returncode == 0, result.stderr
    paths: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return paths


@contextmanager
def fresh_database(project: Path) -> Iterator[dict[str, str]]:
    """Environment for a database of this test's own: on DATABASE_URL's server when it is set
    (created and dropped here), else the product's embedded PostgreSQL under .data/."""
    server = os.environ.get("DATABASE_URL")
    if not server:
        yield {"APP_ENV": "dev"}
        return
    name = f"{PACKAGE}_modules_{uuid.uuid4().hex[:8]}"
    statement = (
        "import asyncio, asyncpg, sys\n"
        "from sqlalchemy.engine import make_url\n"
        "url = make_url(sys.argv[1]).set(drivername='postgresql', database='postgres')\n"
        "async def main():\n"
        "    conn = await asyncpg.connect(url.render_as_string(hide_password=False))\n"
        "    await conn.execute(sys.argv[2])\n"
        "    await conn.close()\n"
        "asyncio.run(main())\n"
    )
    created = run(project, "python", "-c", statement, server, f'CREATE DATABASE "{name}"')
    assert created.returncode == 0, created.stderr
    try:
        yield {"APP_ENV": "dev", "DATABASE_URL": server.rsplit("/", 1)[0] + f"/{name}"}
    finally:
        run(project, "python", "-c", statement, server, f'DROP DATABASE "{name}" WITH (FORCE)')


def serve_briefly(
    project: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`serve` on an unreachable database: it must stop before that, on the module checks."""
    unreachable = {"APP_ENV": "dev", "DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1:1/x"}
    return run(project, SLUG, "serve", env={**unreachable, **(env or {})})


def test_add_module_gives_a_working_tested_module(project: Path) -> None:
    added = run(project, SLUG, "add-module", "billing")
    assert added.returncode == 0, added.stderr
    module = project / "src" / PACKAGE / "modules" / "billing"
    assert (module / "router.py").exists()
    assert "/api/v1/billing" in openapi_paths(project)
    tests = run(
        project,
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"src/{PACKAGE}/modules/billing",
        f"src/{PACKAGE}/core/tests/test_migrations.py",
        f"src/{PACKAGE}/modules/auth/tests/test_route_permissions.py",
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    (migration,) = (module / "migrations").glob("billing_0001_*.py")
    assert 'branch_labels: str | Sequence[str] | None = ("billing",)' in migration.read_text()
    for tool in (["ruff", "check"], ["ruff", "format", "--check"]):
        lint = run(project, *tool, f"src/{PACKAGE}/modules/billing", str(migration))
        assert lint.returncode == 0, lint.stdout
    typed = run(project, "mypy")
    assert typed.returncode == 0, typed.stdout
    checked = run(project, SLUG, "check-modules")
    assert checked.returncode == 0, checked.stderr
    assert "billing" in checked.stdout
    again = run(project, SLUG, "add-module", "billing")
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_a_broken_module_is_named_by_check_modules_and_at_start_up(project: Path) -> None:
    added = run(project, SLUG, "add-module", "broken_one")
    assert added.returncode == 0, added.stderr
    router = project / "src" / PACKAGE / "modules" / "broken_one" / "router.py"
    router.write_text(router.read_text() + "\ndef oops(:\n")
    checked = run(project, SLUG, "check-modules")
    assert checked.returncode == 1
    assert "broken_one" in checked.stderr
    assert "router.py:" in checked.stderr
    served = serve_briefly(project)
    assert served.returncode != 0
    assert "broken_one" in served.stderr
    router.unlink()
    (router.parent / "module.py").unlink()
    for path in sorted(router.parent.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    router.parent.rmdir()


def test_a_route_without_declared_access_is_named_by_check_modules(project: Path) -> None:
    added = run(project, SLUG, "add-module", "audit")
    assert added.returncode == 0, added.stderr
    manifest = project / "src" / PACKAGE / "modules" / "audit" / "module.py"
    original = manifest.read_text()
    manifest.write_text(original.replace('Access("/audit", CONFIGURE, methods=("POST",)),', ""))
    try:
        checked = run(project, SLUG, "check-modules")
        assert checked.returncode == 1
        assert "audit: " in checked.stderr
        assert "route POST /api/v1/audit declares no access policy" in checked.stderr
        assert 'add Access("/audit"' in checked.stderr
    finally:
        manifest.write_text(original)
    assert run(project, SLUG, "check-modules").returncode == 0


def test_a_plugin_distribution_is_loaded_through_its_entry_point(
    project: Path, tmp_path: Path
) -> None:
    plugin = tmp_path / "acme-plugin"
    (plugin / "acme_plugin").mkdir(parents=True)
    (plugin / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [project]
        name = "acme-plugin"
        version = "0.1.0"
        [project.entry-points."{PACKAGE}.modules"]
        hello = "acme_plugin:manifest"
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [tool.hatch.build.targets.wheel]
        packages = ["acme_plugin"]
    """)
    )
    (plugin / "acme_plugin" / "migrations").mkdir()
    (plugin / "acme_plugin" / "migrations" / "hello_0001_greetings.py").write_text(
        textwrap.dedent("""
        import sqlalchemy as sa
        from alembic import op

        revision = "hello_0001"
        down_revision = None
        branch_labels = ("hello",)
        depends_on = "0001"


        def upgrade() -> None:
            op.create_table("hello_greetings", sa.Column("id", sa.Integer(), primary_key=True))


        def downgrade() -> None:
            op.drop_table("hello_greetings")
    """)
    )
    (plugin / "acme_plugin" / "__init__.py").write_text(
        textwrap.dedent(f"""
        from fastapi import APIRouter, FastAPI, Request
        from pydantic import Field
        from pydantic_settings import BaseSettings, SettingsConfigDict
        from {PACKAGE}.core.actors import actor
        from {PACKAGE}.core.module_settings import settings_of
        from {PACKAGE}.core.plugins import EVERYONE, Access, ModuleManifest

        class HelloSettings(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="HELLO_")
            greeting: str = Field(default="world", min_length=1)

        router = APIRouter(prefix="/hello", tags=["hello"])

        @router.get("")
        async def hello(request: Request) -> dict[str, str]:
            return {{"hello": settings_of(request.app, HelloSettings).greeting}}

        @actor("hello.wave")
        async def wave(app: FastAPI, times: int) -> None:
            pass

        manifest = ModuleManifest(
            name="hello",
            router=router,
            access=[Access("/hello", EVERYONE)],
            settings=HelloSettings,
            actors=[wave],
        )
    """)
    )
    python = str(project / ".venv" / "bin" / "python")
    installed = subprocess.run(
        [UV, "pip", "install", "-q", "--python", python, "-e", str(plugin)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    try:
        assert "/api/v1/hello" in openapi_paths(project)
        checked = run(project, SLUG, "check-modules")
        assert checked.returncode == 0, checked.stderr
        assert "hello" in checked.stdout
        code = f"from {PACKAGE}.worker import actors; print(sorted(actors.module_actors))"
        workers = run(project, "python", "-c", code)
        assert workers.returncode == 0, workers.stderr
        assert "'hello.wave'" in workers.stdout
        with fresh_database(project) as database:
            migrated = run(project, SLUG, "migrate", env=database)
            assert migrated.returncode == 0, migrated.stderr
            current = run(project, SLUG, "alembic", "current", env=database)
            assert current.returncode == 0, current.stderr
            assert "hello_0001 (head)" in current.stdout
        wrong = {"HELLO_GREETING": "", "APP_ENV": "dev"}
        rechecked = run(project, SLUG, "check-modules", env=wrong)
        assert rechecked.returncode == 1
        assert "hello: " in rechecked.stderr
        assert "HELLO_GREETING: String should have at least 1 character" in rechecked.stderr
        served = serve_briefly(project, wrong)
        assert served.returncode == 2
        assert "module 'hello': HELLO_GREETING" in served.stderr
    finally:
        subprocess.run(
            [UV, "pip", "uninstall", "-q", "--python", python, "acme-plugin"],
            cwd=project,
            check=False,
        )


def test_an_unknown_revision_is_named_with_where_to_look(project: Path) -> None:
    unreachable = {"APP_ENV": "dev", "DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1:1/x"}
    migrated = run(project, SLUG, "migrate", "--revision", "nosuch", env=unreachable)
    assert migrated.returncode == 1
    assert "nosuch" in migrated.stderr
    assert f"{SLUG} alembic history" in migrated.stderr
