"""The OpenAPI document states every error a route can answer, in the one error envelope.

Generated clients and fuzzers then know the real contract: `document_errors` adds, to every
operation, the statuses the shared layers give (422 invalid input, 503 database or HiAgent
unavailable), 401 and 403 where the module's `access` requires a role, 404 where the path
or query names something, 409 and 413 where the route changes data, 400 where it takes a body.
A route adds its own with `responses=`, e.g. `responses=HIAGENT_ERRORS` where it calls HiAgent
(docs/security.md, Errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from .plugins import ROLES, Access, ModuleManifest, access_for


class ErrorDetail(BaseModel):
    """What went wrong; some errors add fields (`errors`, `retry_after_s`, `required_roles`)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="A stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="Plain words for a person.")
    correlation_id: str | None = Field(description="Quote it when reporting a problem.")


class ErrorEnvelope(BaseModel):
    """Every error response: `{"error": {...}}`."""

    error: ErrorDetail


def _response(description: str) -> dict[str, Any]:
    # A reference, not `model=`: routes are built already, and this works on any FastAPI.
    schema = {"$ref": "#/components/schemas/ErrorEnvelope"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_INVALID = _response("The request is not valid; `error.errors` lists each problem.")
_UNAVAILABLE = _response("A dependency cannot serve now; `Retry-After` says when to retry.")
_UNAUTHORIZED = _response("Not signed in, or the token is invalid or has expired.")
_FORBIDDEN = _response("Signed in, but the role may not do this.")
_NOT_FOUND = _response("Something the request names does not exist.")
_CONFLICT = _response("The change clashes with the current state (a duplicate, say).")
_TOO_LARGE = _response("The request body is larger than the limit.")
_MALFORMED = _response("The body cannot be read (not UTF-8, or not the declared type).")
_THROTTLED = _response("Too many requests; `Retry-After` says when to retry.")

HIAGENT_ERRORS: dict[int | str, dict[str, Any]] = {
    409: _response("The configuration is turned off, or not of the kind this path calls."),
    429: _response("HiAgent is rate limiting; `Retry-After` says when to retry."),
    502: _response("HiAgent failed or answered something unusable."),
    504: _response("HiAgent did not answer in time."),
}
SIGN_IN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _response("The username or password is wrong, or the account is deactivated."),
    429: _THROTTLED,
}


def _errors_of(
    method: str, path: str, operation: dict[str, Any], rule: Access | None
) -> dict[str, dict[str, Any]]:
    errors = {"422": _INVALID, "503": _UNAVAILABLE}
    if (rule is not None and not rule.public) or (rule is None and operation.get("security")):
        errors["401"] = _UNAUTHORIZED
        if rule is not None and set(rule.roles) < set(ROLES):
            errors["403"] = _FORBIDDEN
    if "{" in path or operation.get("parameters"):
        # A path or query parameter may name something that does not exist (an agent, say).
        errors["404"] = _NOT_FOUND
    if method in ("post", "put", "patch", "delete"):
        errors["409"] = _CONFLICT
        errors["413"] = _TOO_LARGE  # the size limit applies whether or not a body is expected
    if "requestBody" in operation:
        errors["400"] = _MALFORMED
    return errors


def _is_default_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError")


def document_errors(app: FastAPI, modules: Sequence[ModuleManifest], api_prefix: str) -> None:
    """Make `app.openapi()` list the shared error responses of every operation.

    Who may call a route comes from the modules' `access` declarations; a route's own
    `responses=` entries are kept.
    """
    generate = app.openapi

    def rule_for(method: str, path: str) -> Access | None:
        if not path.startswith(api_prefix):
            return None
        below = path[len(api_prefix) :]
        return next((r for m in modules if (r := access_for(m, method, below))), None)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if _is_default_validation_error(responses.get("422", {})):
                    del responses["422"]
                rule = rule_for(method, path)
                for status, response in _errors_of(method, path, operation, rule).items():
                    responses.setdefault(status, response)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(envelope.pop("$defs", {}))
        components["ErrorEnvelope"] = envelope
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
