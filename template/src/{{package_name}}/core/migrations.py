"""Run Alembic from code (CLI, bootstrap, tests) without needing alembic.ini on disk.

Every module owns an Alembic branch: the core tables live in `migrations/versions` (branch
`core`), each module's in its own `migrations/` folder (branch: the module's name). `upgrade`
goes to every head, so a template release and a product's modules never need a merge.
Before it upgrades, `reconcile_versions` fits the database's version rows to the code's
branches (docs/updating.md):

- a module whose code is gone (a toggle turned off) keeps its tables; its version row moves
  to `alembic_version_detached`, and comes back if the module does;
- a database migrated before modules had branches (one chain, 0001 to 0006) gets the rows
  the branch layout expects, so nothing is created twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from alembic import command
from alembic.config import CommandLine, Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from .db import async_url
from .plugins import discover_modules

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
DETACHED_TABLE = "alembic_version_detached"
logger = logging.getLogger(__name__)

# Until release 0.9 the template's revisions formed one chain in this order (0004 only with
# the worker, 0005 only with the example module); these two now start their modules' branches.
_LINEAR_CHAIN = ("0001", "0002", "0003", "0004", "0005", "0006")
_LINEAR_TABLES = {"0004": "tasks", "0005": "support_tickets"}


def version_locations() -> list[Path]:
    """The core revisions' folder, then every module's migrations folder."""
    modules = [m.migrations for m in discover_modules() if m.migrations is not None]
    return [MIGRATIONS_DIR / "versions", *modules]


def alembic_config(database_url: str) -> Config:
    """An Alembic config over every module's migrations, pointing at `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join(str(path) for path in version_locations())
    )
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def scripts() -> ScriptDirectory:
    """Every revision of the core and of each module."""
    return ScriptDirectory.from_config(alembic_config("postgresql://unused"))


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Reconcile the version rows, then apply migrations up to `revision` (every head).

    Blocking: call from a thread inside a loop.
    """
    config = alembic_config(database_url)
    script = ScriptDirectory.from_config(config)
    script.get_revisions(revision)  # an unknown target fails here, before any change
    changes = asyncio.run(_reconcile(database_url, script))
    for change in changes:
        logger.warning("migrations: %s", change)
    command.upgrade(config, revision)


def downgrade(database_url: str, revision: str) -> None:
    """Revert migrations down to `revision` (`base` for an empty schema)."""
    command.downgrade(alembic_config(database_url), revision)


def heads() -> list[str]:
    """Head revisions: one per branch (the core, and each module with migrations)."""
    return list(scripts().get_heads())


def run_alembic(argv: Sequence[str], database_url: str, prog: str) -> None:
    """Alembic's own command line (`history`, `revision`, ...) over every module's migrations."""
    line = CommandLine(prog=f"{prog} alembic")
    options = line.parser.parse_args(list(argv))
    if not hasattr(options, "cmd"):
        line.parser.error("name a command, for example: history")
    config = alembic_config(database_url)
    config.cmd_opts = options
    line.run_cmd(config, options)


async def _reconcile(database_url: str, script: ScriptDirectory) -> list[str]:
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(reconcile_versions, script)
    finally:
        await engine.dispose()


def reconcile_versions(connection: Connection, script: ScriptDirectory) -> list[str]:
    """Fit the database's version rows to the code's branches; returns what it changed."""
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables:
        return []
    rows = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    known = {revision.revision for revision in script.walk_revisions("base", "heads")}
    changes = []
    gone = rows - known
    if gone:
        _detach(connection, gone, tables)
        changes.append(
            f"revisions {', '.join(sorted(gone))} are no longer in the code (a module was "
            f"removed): their tables are kept and their rows moved to {DETACHED_TABLE} "
            "(docs/updating.md says how to drop them)"
        )
    back = _reattach(connection, known, tables)
    if back:
        changes.append(f"revisions {', '.join(sorted(back))} are back in the code: reattached")
    current = (rows - gone) | back
    applied = applied_revisions(script, current)
    stamped = {
        revision
        for revision in _linear_prefix(applied)
        if revision in known
        and revision not in applied
        and _LINEAR_TABLES.get(revision, "alembic_version") in tables
    }
    # One row per applied revision that no other applied revision revises: a revision that
    # another only `depends_on` keeps its row, so nothing reads it as not yet applied.
    wanted = _heads_of(script, applied | applied_revisions(script, stamped))
    if wanted != rows - gone:
        _stamp(connection, wanted)
    if stamped:
        changes.append(
            f"revisions {', '.join(sorted(stamped))} were applied before modules had their own "
            "branches: recorded as applied"
        )
    return changes


def _stamp(connection: Connection, revisions: set[str]) -> None:
    connection.execute(text("DELETE FROM alembic_version"))
    connection.execute(
        text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
        [{"v": revision} for revision in sorted(revisions)],
    )


def _detach(connection: Connection, revisions: Iterable[str], tables: set[str]) -> None:
    if DETACHED_TABLE not in tables:
        connection.execute(
            text(
                "CREATE TABLE alembic_version_detached (version_num VARCHAR(64) PRIMARY KEY, "
                "detached_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
        )
        tables.add(DETACHED_TABLE)
    for revision in revisions:
        connection.execute(
            text(
                "INSERT INTO alembic_version_detached (version_num) VALUES (:v) "
                "ON CONFLICT DO NOTHING"
            ),
            {"v": revision},
        )
        connection.execute(
            text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": revision}
        )


def _reattach(connection: Connection, known: set[str], tables: set[str]) -> set[str]:
    if DETACHED_TABLE not in tables:
        return set()
    detached = set(
        connection.execute(text("SELECT version_num FROM alembic_version_detached")).scalars()
    )
    back = detached & known
    for revision in back:
        connection.execute(
            text("DELETE FROM alembic_version_detached WHERE version_num = :v"), {"v": revision}
        )
    return back


def applied_revisions(script: ScriptDirectory, rows: Iterable[str]) -> set[str]:
    """What version rows `rows` mean is applied: each revision, all it revises and all it
    depends on."""
    seen: set[str] = set()
    pending = list(rows)
    while pending:
        found = script.get_revision(pending.pop())
        if found is None or found.revision in seen:
            continue
        seen.add(found.revision)
        pending.extend(_as_tuple(found.down_revision))
        pending.extend(_as_tuple(found.dependencies))
    return seen


def _heads_of(script: ScriptDirectory, applied: set[str]) -> set[str]:
    """The applied revisions nothing else applied builds on: the rows Alembic expects."""
    parents: list[str] = []
    for revision in applied:
        found = script.get_revision(revision)
        if found is not None:
            parents += _as_tuple(found.down_revision) + _as_tuple(found.dependencies)
    return applied - applied_revisions(script, parents)


def _linear_prefix(applied: set[str]) -> tuple[str, ...]:
    """The old single chain up to the furthest of its revisions the database has applied."""
    reached = [index for index, revision in enumerate(_LINEAR_CHAIN) if revision in applied]
    return _LINEAR_CHAIN[: max(reached) + 1] if reached else ()


def _as_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
