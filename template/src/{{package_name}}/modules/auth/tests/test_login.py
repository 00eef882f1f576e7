"""Sign-in: tokens, inactive accounts, last_login, throttling, /auth/me."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from ....testing.plugin import TEST_PASSWORD, UserFactory
from ...users.models import Role, User


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", data={"username": username, "password": password}
    )


async def test_login_returns_a_bearer_token_that_works(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    await make_user(Role.CONFIGURATOR, username="cara")
    response = await login(client, "cara", TEST_PASSWORD)
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer"
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["username"] == "cara"
    assert me.json()["role"] == "configurator"
    assert "agents:configure" in me.json()["permissions"]
    assert me.json()["last_login"] is not None
    assert "password_hash" not in me.json()


async def test_login_by_email(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    await make_user(Role.VIEWER, username="vic", email="vic@corp.local")
    assert (await login(client, "VIC@corp.local", TEST_PASSWORD)).status_code == 200


async def test_wrong_password_and_unknown_user_look_the_same(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    await make_user(Role.VIEWER, username="ann")
    wrong = await login(client, "ann", "nope-nope")
    unknown = await login(client, "nobody", "nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


async def test_inactive_user_is_refused(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    await make_user(Role.ADMIN, username="gone", active=False)
    response = await login(client, "gone", TEST_PASSWORD)
    assert response.status_code == 401
    assert "deactivated" in response.json()["error"]["message"]


async def test_token_of_a_deactivated_user_stops_working(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    token_for: Callable[[User], dict[str, str]],
    db_session: AsyncSession,
) -> None:
    user = await make_user(Role.VIEWER, username="later")
    headers = token_for(user)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    user.active = False
    db_session.add(user)
    await db_session.commit()
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_repeated_failures_lock_the_account_for_a_while(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    await make_user(Role.VIEWER, username="bob")
    statuses = [(await login(client, "bob", f"wrong-{i}")).status_code for i in range(5)]
    assert statuses == [401] * 5
    locked = await login(client, "bob", TEST_PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert locked.json()["error"]["code"] == "too_many_requests"


async def test_garbage_tokens_are_401(client: httpx.AsyncClient) -> None:
    for value in ("Bearer nonsense", "Bearer a.b.c", "Basic Zm9vOmJhcg=="):
        response = await client.get("/api/v1/auth/me", headers={"Authorization": value})
        assert response.status_code == 401


async def test_login_form_missing_fields_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", data={"username": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
