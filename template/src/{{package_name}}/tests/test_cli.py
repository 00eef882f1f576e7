"""The command line as an operator uses it: start-up refusal, bootstrap, create-user."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ..core.migrations import downgrade
from ..testing.cli import run_cli, staging_environment
from ..testing.database import create_test_database, drop_test_database

PACKAGE = __package__.split(".")[0] if __package__ else ""


def test_prod_without_variables_exits_and_lists_every_missing_one(tmp_path: Path) -> None:
    result = run_cli("serve", env={"APP_ENV": "prod"}, cwd=tmp_path)
    assert result.returncode == 2
    for name in (
        "DATABASE_URL",
        "HIAGENT_JWT_SECRET",
        "VOLC_ACCESSKEY",
        "VOLC_SECRETKEY",
        "HIAGENT_TOP_ENDPOINT",
        "HIAGENT_APP_BASE_URL",
    ):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


async def test_bootstrap_is_idempotent_and_the_admin_signs_in(
    tmp_path: Path, database_url: str, app: FastAPI, client: httpx.AsyncClient
) -> None:
    env = staging_environment(
        database_url, HIAGENT_ADMIN_USERNAME="boss", HIAGENT_ADMIN_EMAIL="boss@corp.local"
    )
    first = run_cli("bootstrap", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Admin created" in first.stdout
    second = run_cli("bootstrap", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already exists" in second.stdout
    login = await client.post(
        "/api/v1/auth/login", data={"username": "boss", "password": "a-real-password-42"}
    )
    assert login.status_code == 200
    created = run_cli(
        "create-user",
        "--username",
        "cleo",
        "--email",
        "cleo@corp.local",
        "--role",
        "configurator",
        env={**env, "NEW_USER_PASSWORD": "cleo-password-1"},
        cwd=tmp_path,
    )
    assert created.returncode == 0, created.stderr
    duplicate = run_cli(
        "create-user",
        "--username",
        "cleo",
        "--email",
        "c2@corp.local",
        env={**env, "NEW_USER_PASSWORD": "cleo-password-1"},
        cwd=tmp_path,
    )
    assert duplicate.returncode == 1
    assert "already taken" in duplicate.stderr


async def test_migrate_goes_to_the_revision_asked_for(tmp_path: Path, database_url: str) -> None:
    scratch = await create_test_database(database_url)
    try:
        await asyncio.to_thread(downgrade, scratch, "base")
        env = {"APP_ENV": "dev", "DATABASE_URL": scratch}
        partial = run_cli("migrate", "--revision", "0002", env=env, cwd=tmp_path)
        assert partial.returncode == 0, partial.stderr
        assert await schema_version(scratch) == "0002"
        unknown = run_cli("migrate", "--revision", "nope", env=env, cwd=tmp_path)
        assert unknown.returncode == 1
        assert "nope" in unknown.stderr
        assert "Traceback" not in unknown.stderr
        newest = run_cli("migrate", env=env, cwd=tmp_path)
        assert newest.returncode == 0, newest.stderr
        assert await schema_version(scratch) != "0002"
    finally:
        await drop_test_database(scratch)


async def schema_version(url: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await engine.dispose()
    return str(version)
