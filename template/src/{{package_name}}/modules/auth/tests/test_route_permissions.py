"""Every route against every role, as its module's manifest declares (`access=[...]`).

The declarations are written apart from the routes' guards, so a route whose guard does not
match its module's declaration fails here; a product module is covered with no edit here.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from ....app import API_PREFIX
from ....core.plugins import Access, ModuleManifest, access_for
from ...users.models import Role

INFRASTRUCTURE = {("GET", "/health/live"), ("GET", "/health/ready")}


def declared_access(app: FastAPI) -> dict[tuple[str, str], Access]:
    """(method, full path) -> the owning module's declaration, for every module route."""
    modules: list[ModuleManifest] = app.state.modules
    declared = {}
    for module in modules:
        routes = module.router.routes if module.router is not None else []
        for route in routes:
            if not isinstance(route, APIRoute):
                continue
            for method in route.methods:
                rule = access_for(module, method, route.path)
                assert rule is not None, (
                    f"{method} {API_PREFIX}{route.path} of module {module.name!r} declares no "
                    "access: add Access(...) to `access=[...]` in its manifest"
                )
                declared[(method, API_PREFIX + route.path)] = rule
    return declared


def expected_roles(
    declared: dict[tuple[str, str], Access], method: str, path: str
) -> frozenset[Role]:
    rule = declared.get((method, path))
    if rule is None:
        raise AssertionError(f"{method} {path} belongs to no module: declare it in a manifest")
    return frozenset(Role(role) for role in rule.roles)


def public(app: FastAPI) -> set[tuple[str, str]]:
    return INFRASTRUCTURE | {key for key, rule in declared_access(app).items() if rule.public}


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    # OpenAPI is the public list of every route with its full path and methods.
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if (method.upper(), path) not in public(app)
    )


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_route_is_covered(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) >= 10
    declared = declared_access(app)
    for method, path in routes:
        expected_roles(declared, method, path)


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
    declared = declared_access(app)
    for method, path in api_routes(app):
        response = await client.request(method, concrete(path), headers=role_headers[role])
        allowed = role in expected_roles(declared, method, path)
        if allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.text)
            assert response.json()["error"]["code"] == "forbidden"
        assert response.status_code < 500, (role, method, path, response.text)
