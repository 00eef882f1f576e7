"""Migrations: a branch per module, no drift from the models, and the version rows kept right.

A product's modules and the template each add revisions to their own branches, so `migrate`
goes to every head and never needs a merge (docs/updating.md).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from ...testing.database import create_test_database, drop_test_database
from ..migrations import (
    MIGRATIONS_DIR,
    alembic_config,
    applied_revisions,
    downgrade,
    heads,
    reconcile_versions,
    scripts,
    upgrade,
)
from ..plugins import discover_modules, import_all_models


@pytest.fixture
async def scratch(database_url: str) -> AsyncIterator[str]:
    """A freshly migrated database of this test's own."""
    url = await create_test_database(database_url)
    try:
        yield url
    finally:
        await drop_test_database(url)


async def sql(url: str, statement: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement))
            return [str(row[0]) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def versions(url: str) -> set[str]:
    return set(await sql(url, "SELECT version_num FROM alembic_version"))


async def assert_at_every_head(url: str) -> None:
    """Every branch's head is applied, and no row is implied by another (Alembic's rule)."""
    script, rows = scripts(), await versions(url)
    assert set(heads()) <= applied_revisions(script, rows)
    for row in rows:
        assert row not in applied_revisions(script, rows - {row}), f"{row} is implied by {rows}"


async def tables(url: str) -> set[str]:
    return set(
        await sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    )


def template_head() -> str:
    """The newest core revision of the template (it numbers its own: 0001, 0002, ...)."""
    script = scripts()
    core = str(MIGRATIONS_DIR / "versions")
    found = [
        head
        for head in script.get_heads()
        if head.isdigit() and str(script.get_revision(head).path).startswith(core)
    ]
    assert len(found) == 1, f"the template's core revisions have heads {found}"
    return found[0]


def test_each_module_with_migrations_has_a_branch_with_one_head() -> None:
    script = scripts()
    for module in discover_modules():
        if module.migrations is not None:
            assert len(script.revision_map.get_revisions(f"{module.name}@head")) == 1, module.name
    assert script.get_revision("0001").branch_labels == {"core"}
    template_head()


def test_a_modules_revisions_stay_on_its_own_branch() -> None:
    # A branch starts at `down_revision = None`; what it needs of others goes in depends_on.
    script = scripts()
    for module in discover_modules():
        if module.migrations is None:
            continue
        own = {
            r.revision: r
            for r in script.walk_revisions()
            if r.path.startswith(str(module.migrations))
        }
        assert own, f"{module.migrations} holds no revision"
        for revision in own.values():
            assert revision.down_revision is None or revision.down_revision in own, (
                f"{revision.path} revises {revision.down_revision}, outside its module"
            )


# Columns no model uses any more, kept until a later release drops them (expand, then contract),
# so instances of the previous release keep working during a rolling deploy or a rollback.
RETIRED_COLUMNS = {("users", "failed_logins"), ("users", "locked_until")}


def _retired(difference: object) -> bool:
    return (
        isinstance(difference, tuple)
        and difference[0] == "remove_column"
        and (difference[2], difference[3].name) in RETIRED_COLUMNS
    )


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
    differences = [d for d in differences if not _retired(d)]
    assert differences == [], f"run `alembic revision --autogenerate`: {differences}"


async def test_downgrade_to_base_and_upgrade_again(scratch: str) -> None:
    await asyncio.to_thread(downgrade, scratch, "base")
    assert await tables(scratch) <= {"alembic_version"}
    await asyncio.to_thread(upgrade, scratch)
    await assert_at_every_head(scratch)


async def test_a_database_from_the_single_chain_is_restamped_and_completed(
    scratch: str,
) -> None:
    # Before modules had branches, a database at the last template revision had one row for
    # the template's revisions, 0006, whatever modules it had; a module turned on later had
    # no table yet.
    before = await tables(scratch)
    missing = sorted({"tasks", "support_tickets"} & before)[:1]
    for table in missing:
        await sql(scratch, f'DROP TABLE "{table}" CASCADE')
    # The product's own branches (add-module) keep their rows.
    await sql(scratch, "DELETE FROM alembic_version WHERE version_num IN ('0004', '0005')")
    await asyncio.to_thread(upgrade, scratch)
    await assert_at_every_head(scratch)
    assert await tables(scratch) == before


EXTRA_REVISION = """
revision = "extra_0001"
down_revision = None
branch_labels = ("extra",)
depends_on = "0001"


def upgrade() -> None:
    from alembic import op
    import sqlalchemy as sa

    op.create_table("extra_items", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    from alembic import op

    op.drop_table("extra_items")
"""


def with_more_revisions(url: str, folder: Path, files: dict[str, str]) -> Config:
    """The project's Alembic config, plus the revisions in `files` (written to `folder`)."""
    for name, source in files.items():
        (folder / name).write_text(source)
    config = alembic_config(url)
    locations = config.get_main_option("version_locations")
    config.set_main_option("version_locations", f"{locations}{os.pathsep}{folder}")
    return config


async def test_a_template_release_and_a_new_module_need_no_merge(
    scratch: str, tmp_path: Path
) -> None:
    # A release adds a revision on top of the core branch while the product adds a module.
    release = (
        f'revision = "9999"\ndown_revision = "{template_head()}"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )
    config = with_more_revisions(
        scratch, tmp_path, {"9999_release.py": release, "extra_0001.py": EXTRA_REVISION}
    )
    await asyncio.to_thread(command.upgrade, config, "heads")
    assert {"9999", "extra_0001"} <= await versions(scratch)
    assert "extra_items" in await tables(scratch)


async def test_a_removed_module_keeps_its_tables_and_comes_back(
    scratch: str, tmp_path: Path
) -> None:
    with_extra = with_more_revisions(scratch, tmp_path, {"extra_0001.py": EXTRA_REVISION})
    await asyncio.to_thread(command.upgrade, with_extra, "heads")
    await sql(scratch, "INSERT INTO extra_items VALUES (7)")
    assert "extra_0001" in await versions(scratch)

    # The module's code is gone (a toggle turned off): migrate still works, the data stays.
    await asyncio.to_thread(upgrade, scratch)
    await assert_at_every_head(scratch)
    assert await sql(scratch, "SELECT id FROM extra_items") == ["7"]
    assert await sql(scratch, "SELECT version_num FROM alembic_version_detached") == ["extra_0001"]

    # It comes back: its row is restored, so its table is not created twice.
    engine = create_async_engine(scratch)
    try:
        async with engine.begin() as connection:
            changes = await connection.run_sync(
                reconcile_versions, ScriptDirectory.from_config(with_extra)
            )
    finally:
        await engine.dispose()
    assert any("extra_0001" in change for change in changes)
    await asyncio.to_thread(command.upgrade, with_extra, "heads")
    assert "extra_0001" in await versions(scratch)
    assert await sql(scratch, "SELECT count(*) FROM alembic_version_detached") == ["0"]
