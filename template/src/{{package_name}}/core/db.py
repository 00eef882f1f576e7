"""Async PostgreSQL access: one engine per process, one session per request."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

from .settings import Settings


def async_url(url: str) -> str:
    """Force the asyncpg driver onto a PostgreSQL URL."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    return url


class Database:
    """Owns the engine and the session factory; started and stopped by the lifespan.

    Pool (docs/performance.md): DB_POOL_SIZE connections stay open, so a busy process does not
    connect per request; DB_MAX_OVERFLOW more open for bursts and close when returned. A
    connection that sat idle longer than DB_PING_AFTER_IDLE_S is tested before use (a restart
    or a firewall may have closed it); one in steady use is not, which saves a round trip per
    request. A connection that breaks in use is answered by a retry of reads and a 503 with
    Retry-After for writes (docs/security.md), and the pool then renews every older connection.
    """

    def __init__(self, url: str, settings: Settings) -> None:
        server_settings = {"application_name": settings.service_name[:63]}
        if settings.db_statement_timeout_ms:
            server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_s,
            pool_recycle=settings.db_pool_recycle_s,
            connect_args={"server_settings": server_settings},
        )
        _ping_after_idle(self.engine, settings.db_ping_after_idle_s)
        self.sessionmaker = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for work outside a request (CLI, background jobs)."""
        async with self.sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        """Run `SELECT 1`; raises when the database cannot be reached."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


_IDLE_SINCE = "idle_since"


def _ping_after_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Test a pooled connection at checkout when it sat idle for more than `idle_s`."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since <= idle_s:
            return  # new, or in steady use
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool drops this connection and hands out another (a new one if need be).
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


async def get_database(request: Request) -> Database:
    """The process database, started by the lifespan."""
    database: Database = request.app.state.database
    return database


async def get_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    """A session per request; rolled back if the handler did not commit."""
    async with database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def describe_database_error(exc: BaseException, url: str | None) -> str:
    """Plain words for why the database cannot be used."""
    target = _target(url)
    name = type(exc).__name__
    text_ = str(exc)
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in text_:
        return f"The database at {target} refused the connection: is PostgreSQL running there?"
    if isinstance(exc, OSError) and "Name or service not known" in text_:
        return f"The database host of {target} cannot be found: check DATABASE_URL."
    if name == "InvalidPasswordError" or "password authentication failed" in text_:
        return f"The database at {target} rejected the user name or password in DATABASE_URL."
    if name == "InvalidCatalogNameError" or ("database" in text_ and "does not exist" in text_):
        return f"The database named in DATABASE_URL does not exist on {target}: create it first."
    if isinstance(exc, TimeoutError):
        return f"The database at {target} did not answer in time."
    return f"The database at {target} cannot be used: {name}: {text_}"


def _target(url: str | None) -> str:
    if not url:
        return "(DATABASE_URL unset)"
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return "(unparseable DATABASE_URL)"
    host = parsed.host or parsed.query.get("host") or "localhost"
    return f"{host}:{parsed.port or 5432}/{parsed.database or ''}"
