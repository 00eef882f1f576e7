"""Every route against every role: the blueprint's permission table, enforced everywhere."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from ...users.models import Role

PUBLIC = {("POST", "/api/v1/auth/login"), ("GET", "/health/live"), ("GET", "/health/ready")}
EVERYONE = frozenset(Role)
CONFIGURE = frozenset({Role.ADMIN, Role.CONFIGURATOR})
ADMIN = frozenset({Role.ADMIN})

# (method pattern, path pattern) -> roles allowed; first match wins. Written from the
# blueprint's table, independently of the code, so a route with the wrong guard fails here.
POLICY: list[tuple[str, str, frozenset[Role]]] = [
    (".*", r"^/api/v1/users", ADMIN),
    ("GET", r"^/api/v1/agent-configs", EVERYONE),
    (".*", r"^/api/v1/agent-configs", CONFIGURE),
    ("GET", r"^/api/v1/tickets", EVERYONE),
    ("POST", r"^/api/v1/tickets", CONFIGURE),
    ("GET", r"^/api/v1/auth/me$", EVERYONE),
    ("GET", r"^/api/v1/(analytics|runbooks|tasks)", EVERYONE),
    ("POST", r"^/api/v1/sizing$", EVERYONE),
    ("POST", r"^/api/v1/(agents|workflows|retrievers|tools)/", EVERYONE),
    ("GET", r"^/api/v1/workflows/", EVERYONE),
]


def expected_roles(method: str, path: str) -> frozenset[Role]:
    for method_pattern, path_pattern, roles in POLICY:
        if re.fullmatch(method_pattern, method) and re.search(path_pattern, path):
            return roles
    raise AssertionError(f"{method} {path} is not in the permission table: add it to POLICY")


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    # OpenAPI is the public list of every route with its full path and methods.
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if (method.upper(), path) not in PUBLIC
    )


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_route_is_covered(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) >= 10
    for method, path in routes:
        expected_roles(method, path)


async def test_anonymous_callers_get_401_everywhere(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for method, path in api_routes(app):
        response = await client.request(method, concrete(path))
        assert response.status_code == 401, (method, path, response.text)


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_is_allowed_or_forbidden_as_the_table_says(
    app: FastAPI,
    client: httpx.AsyncClient,
    role_headers: dict[Role, dict[str, str]],
    role: Role,
) -> None:
    for method, path in api_routes(app):
        response = await client.request(method, concrete(path), headers=role_headers[role])
        allowed = role in expected_roles(method, path)
        if allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.text)
            assert response.json()["error"]["code"] == "forbidden"
        assert response.status_code < 500, (role, method, path, response.text)
