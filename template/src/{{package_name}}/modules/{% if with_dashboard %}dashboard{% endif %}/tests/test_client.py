"""The dashboard's API client is generated from this service's OpenAPI and kept current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ....core.project import PACKAGE_NAME
from ..client import client_schema, render, snapshot_path


def project_root() -> Path:
    """The folder holding pyproject.toml (tests run from a source checkout)."""
    here = Path(__file__).resolve()
    return next(parent for parent in here.parents if (parent / "pyproject.toml").is_file())


def test_the_client_snapshot_matches_the_api(app: FastAPI) -> None:
    snapshot = snapshot_path(project_root() / "dashboard")
    expected = render(client_schema(app.openapi()))
    assert snapshot.is_file(), f"{snapshot} is missing"
    assert snapshot.read_text(encoding="utf-8") == expected, (
        "The dashboard's API client is stale: the API changed. Regenerate it with "
        f"`uv run python -m {PACKAGE_NAME}.modules.dashboard client` and commit "
        "dashboard/openapi.json and dashboard/src/api/schema.d.ts."
    )


def test_only_the_dashboards_operations_and_their_schemas_are_kept() -> None:
    ref = "#/components/schemas/"
    openapi: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Any product", "version": "9"},
        "paths": {
            "/api/v1/users": {
                "get": {
                    "tags": ["users"],
                    "responses": {"200": {"$ref": ref + "UserPage"}},
                }
            },
            "/api/v1/tickets": {
                "get": {"tags": ["tickets"], "responses": {"200": {"$ref": ref + "Ticket"}}}
            },
        },
        "components": {
            "schemas": {
                "UserPage": {"properties": {"items": {"items": {"$ref": ref + "User"}}}},
                "User": {"properties": {"role": {"$ref": ref + "Role"}}},
                "Role": {"enum": ["admin"]},
                "Ticket": {"type": "object"},
            }
        },
    }
    kept = client_schema(openapi)
    assert list(kept["paths"]) == ["/api/v1/users"]
    assert sorted(kept["components"]["schemas"]) == ["Role", "User", "UserPage"]
    assert kept["info"] == {"title": "Dashboard API", "version": "1"}
    assert json.loads(render(kept)) == kept
