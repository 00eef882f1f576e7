"""A throwaway PostgreSQL database per test session, and per-test cleanup."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ..core.db import async_url
from ..core.embedded import start_embedded_postgres
from ..core.migrations import upgrade
from ..core.project import PACKAGE_NAME

TEST_PG_DIR = Path(".data/test-postgres")


def server_url() -> str:
    """The server tests use: DATABASE_URL when set, else an embedded one under .data/."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return async_url(configured)
    url, _server = start_embedded_postgres(TEST_PG_DIR, database="postgres")
    return url


def _asyncpg_dsn(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


async def create_test_database(url: str) -> str:
    """Create `<package>_test_<random>` next to the database in `url`; return its URL.

    The named database itself is never touched, so pointing tests at a dev server is safe.
    """
    name = f"{PACKAGE_NAME}_test_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(_asyncpg_dsn(url, "postgres"))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    test_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, test_url)
    return test_url


async def drop_test_database(url: str) -> None:
    """Drop a database made by `create_test_database`."""
    name = make_url(url).database
    if not name or "_test_" not in name:
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    connection = await asyncpg.connect(_asyncpg_dsn(url, "postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def truncate_all(engine: AsyncEngine) -> None:
    """Empty every table but Alembic's own, resetting ids: each test starts from nothing."""
    async with engine.begin() as connection:
        rows = await connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename NOT IN ('alembic_version', 'alembic_version_detached')"
            )
        )
        tables = ", ".join(f'"{row[0]}"' for row in rows)
        if tables:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
