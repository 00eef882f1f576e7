"""Admins manage accounts; the last admin is protected."""

from __future__ import annotations

import httpx

from ....testing.plugin import TEST_PASSWORD, UserFactory
from ..models import Role


async def test_admin_creates_a_user_who_can_sign_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {
        "username": "nina",
        "email": "nina@corp.local",
        "password": "s3cret-pass",
        "role": "configurator",
    }
    created = await client.post("/api/v1/users", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "configurator"
    assert "password" not in created.json()
    assert "password_hash" not in created.json()
    login = await client.post(
        "/api/v1/auth/login", data={"username": "nina", "password": "s3cret-pass"}
    )
    assert login.status_code == 200


async def test_duplicate_username_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"username": "dup", "email": "dup@example.com", "password": "password-1"}
    assert (await client.post("/api/v1/users", json=body, headers=admin_headers)).status_code == 201
    again = await client.post(
        "/api/v1/users", json={**body, "email": "other@example.com"}, headers=admin_headers
    )
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "username"


async def test_bad_input_is_422_not_500(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for body in (
        {"username": "x", "email": "x@example.com", "password": "password-1"},
        {"username": "okname", "email": "not-an-email", "password": "password-1"},
        {"username": "okname", "email": "a@b.c", "password": "short"},
        {"username": "okname", "email": "a@b.c", "password": "password-1", "role": "boss"},
        {"username": 12, "email": [], "password": None},
    ):
        response = await client.post("/api/v1/users", json=body, headers=admin_headers)
        assert response.status_code == 422, (body, response.text)
    malformed = await client.post(
        "/api/v1/users",
        content=b"{not json",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 422


async def test_change_role_and_deactivate(
    client: httpx.AsyncClient, admin_headers: dict[str, str], make_user: UserFactory
) -> None:
    user = await make_user(Role.VIEWER, username="val")
    promoted = await client.patch(
        f"/api/v1/users/{user.id}", json={"role": "configurator"}, headers=admin_headers
    )
    assert promoted.json()["role"] == "configurator"
    deactivated = await client.delete(f"/api/v1/users/{user.id}", headers=admin_headers)
    assert deactivated.status_code == 200
    assert deactivated.json()["active"] is False
    login = await client.post(
        "/api/v1/auth/login", data={"username": "val", "password": TEST_PASSWORD}
    )
    assert login.status_code == 401
    listed = await client.get("/api/v1/users", headers=admin_headers)
    assert {u["username"] for u in listed.json()["items"]} >= {"val", "admin"}


async def test_the_last_admin_cannot_be_demoted_or_deactivated(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    me = (await client.get("/api/v1/auth/me", headers=admin_headers)).json()
    demote = await client.patch(
        f"/api/v1/users/{me['id']}", json={"role": "viewer"}, headers=admin_headers
    )
    assert demote.status_code == 409
    deactivate = await client.delete(f"/api/v1/users/{me['id']}", headers=admin_headers)
    assert deactivate.status_code == 409


async def test_unknown_user_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.patch(
        "/api/v1/users/999", json={"active": False}, headers=admin_headers
    )
    assert response.status_code == 404


async def test_user_ids_out_of_range_are_422_never_500(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for user_id in (2**31, 2**63, 0, -1):
        url = f"/api/v1/users/{user_id}"
        for method, body in (("GET", None), ("PATCH", {"active": False}), ("DELETE", None)):
            response = await client.request(method, url, json=body, headers=admin_headers)
            assert response.status_code == 422, (method, url, response.text)
            assert response.json()["error"]["code"] == "invalid_request"
    largest = await client.get(f"/api/v1/users/{2**31 - 1}", headers=admin_headers)
    assert largest.status_code == 404
