"""Migrations: one head, no drift from the models, and a clean downgrade/upgrade cycle."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from ...testing.database import create_test_database, drop_test_database
from ..migrations import downgrade, heads, upgrade
from ..plugins import import_all_models


def test_a_single_head() -> None:
    assert len(heads()) == 1


async def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    import_all_models()
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "compare_server_default": True}
                    ),
                    SQLModel.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert differences == [], f"run `alembic revision --autogenerate`: {differences}"


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    scratch = await create_test_database(database_url)
    try:
        await asyncio.to_thread(downgrade, scratch, "base")
        engine = create_async_engine(scratch)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: sync.dialect.get_table_names(sync))
        await engine.dispose()
        assert set(tables) <= {"alembic_version"}
        await asyncio.to_thread(upgrade, scratch)
    finally:
        await drop_test_database(scratch)
