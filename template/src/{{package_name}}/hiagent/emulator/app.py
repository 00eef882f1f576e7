"""The emulator's ASGI app: App API under a prefix, signed TOP at `/`, admin under `/_emulator`.

Every HiAgent call is recorded, authenticated, checked against its scenario's failure and then
answered by the action table of its surface.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .admin_api import admin_routes
from .app_api import APP_ACTIONS, AppCall, is_streaming
from .responses import DEFAULT_REGION, error_response, top_result
from .scenarios import STREAM_FAILURE_KINDS, Failure
from .signing import SignatureMismatch, signature_region, verify_signature
from .state import EmulatorState, RecordedRequest
from .top_api import TOP_ACTIONS, TopCall, top_scenario_key

DEFAULT_APP_PREFIX = "/api/proxy/api/v1"
PRODUCT_CODE_HEADER = "x-trace-product-code"
# Failures the SSE body plays itself; a hanging stream still sends message_start first.
_IN_STREAM_KINDS = STREAM_FAILURE_KINDS | {"hang"}


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _record(
    state: EmulatorState, request: Request, surface: Literal["app", "top"], action: str, body: Any
) -> RecordedRequest:
    record = RecordedRequest(
        surface=surface,
        action=action,
        app_key=request.headers.get("apikey") if surface == "app" else None,
        product_code=request.headers.get(PRODUCT_CODE_HEADER),
        headers=dict(request.headers),
        body=body,
    )
    state.record(record)
    return record


async def _failure_response(
    state: EmulatorState, failure: Failure | None, request_id: str, action: str, streaming: bool
) -> Response | None:
    """Answer for failures decided before the action runs; None lets the action answer."""
    if failure is None or failure.kind in STREAM_FAILURE_KINDS:
        return None
    if failure.kind == "http_error":
        return error_response(
            request_id,
            action,
            status=failure.status,
            code=failure.code,
            message=failure.message,
            retry_after=failure.retry_after,
        )
    if failure.kind == "error_envelope":
        return error_response(
            request_id, action, status=200, code=failure.code, message=failure.message
        )
    if failure.kind == "timeout":
        await state.pause(failure.delay_seconds)
        return None
    if streaming:
        # A hanging stream sends message_start and then holds the body open (chat_stream).
        return None
    await state.pause(float("inf"))
    return error_response(
        request_id, action, status=503, code="EmulatorStopping", message="emulator stopping"
    )


def normalize_prefix(app_prefix: str) -> str:
    """`/a/b` for any of `a/b`, `/a/b/`; "" for the root, so URLs never get a double slash."""
    stripped = app_prefix.strip("/")
    return f"/{stripped}" if stripped else ""


def create_app(state: EmulatorState, *, app_prefix: str = DEFAULT_APP_PREFIX) -> Starlette:
    """Build the emulator app around `state` (scenarios, logs and credentials live there)."""
    prefix = normalize_prefix(app_prefix)

    async def app_api(request: Request) -> Response:
        action = request.path_params["action"]
        body = _json_body(await request.body())
        record = _record(state, request, "app", action, body)
        response = await _answer_app(request, action, body)
        record.status = response.status_code
        return response

    async def _answer_app(request: Request, action: str, body: Any) -> Response:
        request_id = state.next_id("req")
        app_key = request.headers.get("apikey", "")
        if not app_key:
            return error_response(
                request_id, action, status=401, code="InvalidApiKey", message="missing Apikey"
            )
        handler = APP_ACTIONS.get(action)
        if handler is None:
            return error_response(
                request_id, action, status=404, code="InvalidAction", message="not emulated"
            )
        if not isinstance(body, dict):
            return error_response(
                request_id, action, status=400, code="InvalidParameter", message="bad JSON body"
            )
        scenario = state.scenario_for(app_key)
        streaming = is_streaming(action, body)
        failure = state.claim_failure(app_key, scenario, action, streaming=streaming)
        early = await _failure_response(state, failure, request_id, action, streaming)
        if early is not None:
            return early
        plays_in_stream = streaming and failure is not None and failure.kind in _IN_STREAM_KINDS
        in_stream = failure if plays_in_stream else None
        call = AppCall(state, action, app_key, body, scenario, in_stream, request_id)
        return await handler(call)

    async def top_api(request: Request) -> Response:
        action = request.query_params.get("Action", "")
        raw = await request.body()
        body = _json_body(raw)
        record = _record(state, request, "top", action, body)
        response = await _answer_top(request, action, raw, body)
        record.status = response.status_code
        return response

    async def _answer_top(request: Request, action: str, raw: bytes, body: Any) -> Response:
        request_id = state.next_id("req")
        authorization = request.headers.get("authorization", "")
        if not authorization:
            return error_response(
                request_id, action, status=401, code="MissingAuthorization", message="unsigned"
            )
        if state.access_key is not None and state.secret_key is not None:
            try:
                verify_signature(
                    method=request.method,
                    path=request.url.path,
                    query=request.query_params.multi_items(),
                    headers=request.headers,
                    body=raw,
                    access_key=state.access_key,
                    secret_key=state.secret_key,
                )
            except SignatureMismatch as exc:
                return error_response(
                    request_id, action, status=401, code=exc.code, message=exc.message
                )
        handler = TOP_ACTIONS.get(action)
        if handler is None:
            return error_response(
                request_id, action, status=400, code="InvalidActionOrVersion", message=action
            )
        if not isinstance(body, dict):
            return error_response(
                request_id, action, status=400, code="InvalidParameter", message="bad JSON body"
            )
        key = top_scenario_key(action, body, state)
        scenario = state.scenario_for(key)
        failure = state.claim_failure(key, scenario, action, streaming=False)
        early = await _failure_response(state, failure, request_id, action, streaming=False)
        if early is not None:
            return early
        region = signature_region(authorization) or DEFAULT_REGION
        return top_result(request_id, action, region, handler(TopCall(action, body, scenario)))

    # Admin and TOP come first so an empty prefix cannot shadow them.
    routes = [
        *admin_routes(state),
        Route("/", top_api, methods=["POST"]),
        Route(f"{prefix}/{{action:path}}", app_api, methods=["POST"]),
    ]
    return Starlette(routes=routes)
