"""Attacks on sign-in: spraying, lockout of a real user, floods, stolen tokens."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from ....core import security
from ....core.settings import Settings
from ....testing.plugin import TEST_PASSWORD, UserFactory
from ...users.models import Role, User
from .. import service


@pytest_asyncio.fixture
async def client_at(app: FastAPI) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """HTTP clients that connect from a given address."""
    clients: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    yield make
    for http in clients:
        await http.aclose()


async def login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/login", data={"username": username, "password": password})


async def test_an_attacker_cannot_lock_the_real_user_out(
    client_at: Callable[[str], httpx.AsyncClient],
    make_user: UserFactory,
    test_settings: Settings,
) -> None:
    await make_user(Role.ADMIN, username="boss")
    attacker, owner = client_at("203.0.113.7"), client_at("198.51.100.20")
    statuses = [
        (await login(attacker, "boss", f"guess-{i}")).status_code
        for i in range(test_settings.login_max_failures + 1)
    ]
    assert statuses[-1] == 429  # the attacker is slowed down...
    assert (await login(attacker, "boss", TEST_PASSWORD)).status_code == 429
    assert (await login(owner, "boss", TEST_PASSWORD)).status_code == 200  # ...not the owner


async def test_spraying_many_names_from_one_address_is_throttled(
    client_at: Callable[[str], httpx.AsyncClient],
    make_user: UserFactory,
    test_settings: Settings,
) -> None:
    await make_user(Role.VIEWER, username="real")
    sprayer = client_at("203.0.113.9")
    limit = test_settings.login_max_failures_per_client
    statuses = [
        (await login(sprayer, f"name-{i}", "Winter2026!")).status_code for i in range(limit + 1)
    ]
    assert statuses[:limit] == [401] * limit
    refused = await login(sprayer, "real", TEST_PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert (await login(client_at("192.0.2.1"), "real", TEST_PASSWORD)).status_code == 200


async def test_passwords_are_checked_off_the_event_loop(
    client: httpx.AsyncClient, make_user: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user(Role.VIEWER, username="eve")
    threads: list[str] = []
    verify = service.verify_password

    def recording(password: str, hashed: str | None) -> bool:
        threads.append(threading.current_thread().name)
        return verify(password, hashed)

    monkeypatch.setattr(service, "verify_password", recording)
    assert (await login(client, "eve", TEST_PASSWORD)).status_code == 200
    assert (await login(client, "eve", "wrong-password")).status_code == 401
    assert len(threads) == 2
    assert all(name.startswith("password") for name in threads), threads


async def test_a_sign_in_flood_beyond_the_queue_gets_503_not_a_stall(
    client_at: Callable[[str], httpx.AsyncClient],
    make_user: UserFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_user(Role.VIEWER, username="flo")
    # One thread and one waiting place: the third concurrent sign-in cannot be queued.
    monkeypatch.setattr(security, "_password_work", [security.PasswordWork(1, 1)])
    clients = [client_at(f"192.0.2.{i}") for i in range(1, 7)]
    responses = await asyncio.gather(*(login(c, "flo", TEST_PASSWORD) for c in clients))
    statuses = sorted(r.status_code for r in responses)
    assert 200 in statuses
    assert 503 in statuses, statuses
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"


async def test_changing_the_password_ends_every_session(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    admin_headers: dict[str, str],
) -> None:
    await make_user(Role.CONFIGURATOR, username="cat")
    stolen = (await login(client, "cat", TEST_PASSWORD)).json()["access_token"]
    headers = {"Authorization": f"Bearer {stolen}"}
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    changed = await client.patch(
        f"/api/v1/users/{me.json()['id']}",
        json={"password": "a-new-password"},
        headers=admin_headers,
    )
    assert changed.status_code == 200
    after = await client.get("/api/v1/auth/me", headers=headers)
    assert after.status_code == 401
    assert "sign in again" in after.json()["error"]["message"]
    fresh = (await login(client, "cat", "a-new-password")).json()["access_token"]
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    ).status_code == 200


async def test_a_token_issued_before_an_update_still_works_until_the_password_changes(
    client: httpx.AsyncClient, make_user: UserFactory, token_for: Callable[[User], dict[str, str]]
) -> None:
    # Tokens of the previous release carry no version: they count as version 0.
    user = await make_user(Role.VIEWER, username="old")
    assert (await client.get("/api/v1/auth/me", headers=token_for(user))).status_code == 200
