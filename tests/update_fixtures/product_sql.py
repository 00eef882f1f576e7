"""Run SQL on a product's own database and print the rows as JSON (runs inside the product).

    uv run --no-sync python product_sql.py PACKAGE "SELECT ..." ["INSERT ... RETURNING id" ...]

The database is the product's: DATABASE_URL when set, else its embedded PostgreSQL under
.data/postgres, started for this call and stopped when it exits (as the product's CLI does).
The statements run in one transaction; the output is one JSON list per statement, of rows.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg

EMBEDDED_DIR = Path(".data/postgres")


def database_url(package: str) -> str:
    """The URL the product's CLI would use here."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    embedded = importlib.import_module(f"{package}.core.embedded")
    url, _server = embedded.start_embedded_postgres(EMBEDDED_DIR)
    return str(url)


def asyncpg_dsn(url: str) -> str:
    """postgresql+asyncpg://... (SQLAlchemy's form) as asyncpg takes it."""
    return "postgresql://" + url.split("://", 1)[1]


async def run(dsn: str, statements: list[str]) -> list[list[dict[str, Any]]]:
    connection = await asyncpg.connect(dsn)
    try:
        results = []
        async with connection.transaction():
            for statement in statements:
                rows = await connection.fetch(statement)
                results.append([dict(row) for row in rows])
        return results
    finally:
        await connection.close()


def main(argv: list[str]) -> int:
    package, *statements = argv
    results = asyncio.run(run(asyncpg_dsn(database_url(package)), statements))
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
