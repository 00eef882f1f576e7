"""The bare floor for `http_read.py`: FastAPI and an asyncpg pool, no middleware, no ORM.

    python bench/bare_floor.py --port 8001   # with FLOOR_DSN, FLOOR_SECRET, FLOOR_ISSUER set

Answers `GET /api/v1/agent-configs` and `GET /api/v1/auth/me` with the same sign-in check as
the product (an HS256 JWT with the same secret, issuer and required claims, then the user row
read by id, active and token version checked), and the same three queries for the list: the
user by id, the page (sorted by name, then id) and the count. JSON shaped like ours. Also
`GET /health/live`, for the cold-start figure. Run with the rendered project's Python (it has
FastAPI, asyncpg, PyJWT and uvicorn).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import jwt
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DSN = os.environ.get("FLOOR_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = os.environ.get("FLOOR_SECRET", "")
ISSUER = os.environ.get("FLOOR_ISSUER", "")
PERMISSIONS = {
    "admin": ["users:manage", "agents:configure", "agents:test", "analytics:read", "read"],
    "configurator": ["agents:configure", "agents:test", "analytics:read", "read"],
    "viewer": ["analytics:read", "read"],
}
CONFIG_COLUMNS = (
    "id, name, description, config_type, app_key, workspace_id, workflow_id, dataset_ids, "
    "tool_id, variables, enabled, max_concurrency, first_token_timeout_s, total_timeout_s, "
    "version, created_by, updated_by, created_at, updated_at"
)


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _denied(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=401)


async def _init(connection: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One asyncpg pool, as large as the product's (10 + 10 overflow)."""
    app.state.pool = await asyncpg.create_pool(DSN, min_size=10, max_size=20, init=_init)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


async def _user(request: Request, connection: asyncpg.Connection) -> asyncpg.Record | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    try:
        payload = jwt.decode(
            header[7:],
            SECRET,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat"]},
        )
        user_id = int(payload["sub"])
    except (jwt.InvalidTokenError, KeyError, ValueError):
        return None
    user = await connection.fetchrow(
        "SELECT id, username, email, role, active, token_version, last_login, created_at "
        "FROM users WHERE id = $1",
        user_id,
    )
    if user is None or not user["active"] or payload.get("ver", 0) != user["token_version"]:
        return None
    return user


@app.get("/health/live")
async def live() -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


@app.get("/api/v1/auth/me")
async def me(request: Request) -> JSONResponse:
    """The signed-in user and its permissions."""
    async with request.app.state.pool.acquire() as connection:
        user = await _user(request, connection)
    if user is None:
        return _denied("Sign in first.")
    body = _plain(user)
    del body["token_version"]
    body["permissions"] = PERMISSIONS.get(user["role"], [])
    return JSONResponse(body)


@app.get("/api/v1/agent-configs")
async def agent_configs(request: Request, limit: int = 50, offset: int = 0) -> JSONResponse:
    """A page of configurations sorted by name, and the total."""
    async with request.app.state.pool.acquire() as connection:
        user = await _user(request, connection)
        if user is None:
            return _denied("Sign in first.")
        rows = await connection.fetch(
            f"SELECT {CONFIG_COLUMNS} FROM agent_configs ORDER BY name, id "  # noqa: S608
            "LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
        total = await connection.fetchval("SELECT count(*) FROM agent_configs")
    items = [_plain(row) for row in rows]
    if user["role"] == "viewer":
        for item in items:
            key = item["app_key"]
            item["app_key"] = "…" + key[-4:] if len(key) > 8 else "…"
    return JSONResponse({"items": items, "total": total, "limit": limit, "offset": offset})


def main() -> None:
    """Serve on loopback."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
