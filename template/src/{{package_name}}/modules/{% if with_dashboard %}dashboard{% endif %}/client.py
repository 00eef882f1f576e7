"""The dashboard's typed API client is generated from this service's OpenAPI description.

`dashboard/openapi.json` holds the part of the description the dashboard uses (the operations
tagged in `CLIENT_TAGS` and the schemas they reach), so it reads the same whichever optional
modules a project has. `npm run api` turns it into `src/api/schema.d.ts`. A test fails when
either file is behind the code; `python -m <package>.modules.dashboard client` rewrites both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Add a module's tag here when the dashboard starts to call it.
CLIENT_TAGS = frozenset(
    {
        "auth",
        "users",
        "agent-configs",
        "test-runs",
        "analytics",
        "runbooks",
        "sizing",
        "health",
        "dashboard",
        "experiments",
    }
)
SNAPSHOT_NAME = "openapi.json"
_REF = re.compile(r"^#/components/schemas/(.+)$")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and (match := _REF.match(value)):
                yield match.group(1)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def client_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's part of `openapi`: tagged operations and the schemas they reach."""
    paths: dict[str, Any] = {}
    for path, operations in sorted(openapi.get("paths", {}).items()):
        kept = {
            method: operation
            for method, operation in operations.items()
            if CLIENT_TAGS.intersection(operation.get("tags", ()))
        }
        if kept:
            paths[path] = kept
    all_schemas: dict[str, Any] = openapi.get("components", {}).get("schemas", {})
    needed: set[str] = set()
    pending = list(_refs(paths))
    while pending:
        name = pending.pop()
        if name not in needed and name in all_schemas:
            needed.add(name)
            pending.extend(_refs(all_schemas[name]))
    components: dict[str, Any] = {"schemas": {name: all_schemas[name] for name in sorted(needed)}}
    security = openapi.get("components", {}).get("securitySchemes")
    if security:
        components["securitySchemes"] = security
    return {
        "openapi": openapi.get("openapi", "3.1.0"),
        "info": {"title": "Dashboard API", "version": "1"},
        "paths": paths,
        "components": components,
    }


def render(schema: dict[str, Any]) -> str:
    """The snapshot file's exact text (stable key order, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def snapshot_path(dashboard_dir: Path) -> Path:
    """Where the snapshot lives in the dashboard project."""
    return dashboard_dir / SNAPSHOT_NAME
