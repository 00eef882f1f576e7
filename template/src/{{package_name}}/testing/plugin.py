"""Pytest fixtures for this service: a migrated test database, the app, clients and tokens.

Everything is real: PostgreSQL (DATABASE_URL's server, or an embedded one), the app with its
lifespan, and HTTP through httpx's ASGI transport. Each test starts with empty tables.

    async def test_list(client, admin_headers):
        response = await client.get("/api/v1/agent-configs", headers=admin_headers)
        assert response.status_code == 200
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlmodel.ext.asyncio.session import AsyncSession

from ..app import create_app
from ..core.security import create_access_token, hash_password
from ..core.settings import AppEnv, Settings
from ..hiagent.emulator import EmulatorServer
from ..modules.users.models import Role, User
from .actors import ActorRunner
from .database import create_test_database, drop_test_database, server_url, truncate_all
from .events import EventLog

TEST_PASSWORD = "test-password-123"  # noqa: S105 - a fixture value, not a secret


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """URL of a freshly migrated database, dropped after the session."""
    # In a thread: starting an embedded server runs its own event loop.
    url = await create_test_database(await asyncio.to_thread(server_url))
    yield url
    await drop_test_database(url)


@pytest.fixture(scope="session")
def settings_overrides() -> dict[str, Any]:
    """Override in a conftest.py to change settings for a whole test session."""
    return {}


TEST_ACCESS_KEY = "test-access-key"
TEST_SECRET_KEY = "test-secret-key"  # noqa: S105 - signs requests to the local emulator only


@pytest.fixture(scope="session")
def hiagent_emulator() -> Iterator[EmulatorServer]:
    """The HiAgent emulator on a loopback port; it verifies the SDK's request signatures.

    Set per-test behaviour with `hiagent_emulator.set_scenario(app_key, Scenario(...))`;
    scenarios and logs are reset after every test.
    """
    with EmulatorServer(access_key=TEST_ACCESS_KEY, secret_key=TEST_SECRET_KEY) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "hiagent_emulator" in request.fixturenames:
        emulator: EmulatorServer = request.getfixturevalue("hiagent_emulator")
        if not emulator.is_running:
            emulator.start()
        emulator.reset()


@pytest.fixture(scope="session")
def test_settings(
    database_url: str, hiagent_emulator: EmulatorServer, settings_overrides: dict[str, Any]
) -> Settings:
    """Settings of the `test` profile with every required value filled in."""
    values: dict[str, Any] = {
        "app_env": AppEnv.TEST,
        "database_url": database_url,
        "hiagent_jwt_secret": secrets.token_urlsafe(48),
        "volc_accesskey": TEST_ACCESS_KEY,
        "volc_secretkey": TEST_SECRET_KEY,
        "hiagent_top_endpoint": hiagent_emulator.top_endpoint,
        "hiagent_app_base_url": hiagent_emulator.app_base_url,
        "log_level": "WARNING",
        "login_lockout_s": 60,
    }
    values.update(settings_overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    """Spans finished by the app; cleared before each test that uses `client`."""
    return InMemorySpanExporter()


@pytest_asyncio.fixture(scope="session")
async def app(
    test_settings: Settings, span_exporter: InMemorySpanExporter
) -> AsyncIterator[FastAPI]:
    """The application with its lifespan running for the whole session."""
    application = create_app(test_settings, span_exporter=span_exporter)
    async with application.router.lifespan_context(application):
        yield application


async def settle(application: FastAPI) -> None:
    """Finish what a test left in flight and forget per-test state, before its tables go.

    Followed workflow runs end (recorded as cancelled), recorded calls and batched events are
    written, and breakers, limits and remembered configurations start fresh.
    """
    gateway = getattr(application.state, "gateway", None)
    if gateway is not None:
        await gateway.client.stop_following()
    recorder = getattr(application.state, "request_recorder", None)
    if recorder is not None:
        await recorder.flush()
    await application.state.event_bus.flush_emitted()
    if gateway is not None:
        gateway.reset()


@pytest_asyncio.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    # Only for tests that touch the database; others pay nothing.
    yield
    if "app" in request.fixturenames:
        application: FastAPI = request.getfixturevalue("app")
        # Nothing of this test may land in the next test's tables.
        await settle(application)
        await truncate_all(application.state.database.engine)


@pytest_asyncio.fixture
async def client(
    app: FastAPI, span_exporter: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    span_exporter.clear()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest_asyncio.fixture
async def db_session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session on the test database (tables are emptied after the test)."""
    async with app.state.database.session() as session:
        yield session


@pytest_asyncio.fixture
async def rollback_session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back at the end, commits included (for service tests).

    It joins an outer transaction on one connection; `session.commit()` only releases a
    savepoint, so nothing it writes is ever seen by the app or by the next test.
    """
    async with app.state.database.engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest_asyncio.fixture
async def actor_runner(app: FastAPI) -> AsyncIterator[ActorRunner]:
    """Module actors sent during the test run in this process: `await actor_runner.drain()`."""
    runner = ActorRunner(app)
    dispatcher = app.state.actor_dispatcher
    app.state.actor_dispatcher = runner
    try:
        yield runner
    finally:
        app.state.actor_dispatcher = dispatcher
        await runner.stop()


@pytest.fixture
def event_log(app: FastAPI) -> EventLog:
    """The events published during the test; `deliver()` runs their handlers now."""
    return EventLog(app)


@pytest.fixture(scope="session")
def _password_hash() -> str:
    return hash_password(TEST_PASSWORD)


UserFactory = Callable[..., Any]


@pytest_asyncio.fixture
async def make_user(db_session: AsyncSession, _password_hash: str) -> UserFactory:
    """Create a user: `await make_user(Role.VIEWER, username="ann")`. Password: TEST_PASSWORD."""

    async def factory(role: Role = Role.VIEWER, **fields: Any) -> User:
        username = fields.pop("username", f"{role.value}-{secrets.token_hex(3)}")
        user = User(
            username=username,
            email=fields.pop("email", f"{username}@example.com"),
            password_hash=_password_hash,
            role=role,
            **fields,
        )
        db_session.add(user)
        await db_session.commit()
        await db_session.refresh(user)
        return user

    return factory


@pytest.fixture
def token_for(test_settings: Settings) -> Callable[[User], dict[str, str]]:
    """Authorization headers for a user: `headers = token_for(user)`."""

    def headers(user: User) -> dict[str, str]:
        token = create_access_token(
            subject=str(user.id),
            role=user.role,
            secret=test_settings.jwt_secret(),
            expires_minutes=5,
            username=user.username,
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest_asyncio.fixture
async def role_headers(
    make_user: UserFactory, token_for: Callable[[User], dict[str, str]]
) -> dict[Role, dict[str, str]]:
    """Authorization headers for one fresh user of each role."""
    return {role: token_for(await make_user(role, username=role.value)) for role in Role}


@pytest.fixture
def admin_headers(role_headers: dict[Role, dict[str, str]]) -> dict[str, str]:
    """Headers of a signed-in admin."""
    return role_headers[Role.ADMIN]


@pytest.fixture
def configurator_headers(role_headers: dict[Role, dict[str, str]]) -> dict[str, str]:
    """Headers of a signed-in configurator."""
    return role_headers[Role.CONFIGURATOR]


@pytest.fixture
def viewer_headers(role_headers: dict[Role, dict[str, str]]) -> dict[str, str]:
    """Headers of a signed-in viewer."""
    return role_headers[Role.VIEWER]
