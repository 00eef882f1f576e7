"""Admin endpoints under `/_emulator/`: configure scenarios and read what the emulator saw.

They are not part of HiAgent and need no credentials: the emulator binds to loopback.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .scenarios import Scenario
from .state import EmulatorState

ADMIN_PREFIX = "/_emulator"


def admin_routes(state: EmulatorState) -> list[Route]:
    """Routes bound to `state`."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def list_scenarios(request: Request) -> Response:
        scenarios = state.scenarios()
        return JSONResponse({k: s.model_dump(mode="json") for k, s in scenarios.items()})

    async def put_scenario(request: Request) -> Response:
        try:
            scenario = Scenario.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"detail": exc.errors(include_url=False)}, status_code=422)
        state.set_scenario(request.path_params["key"], scenario)
        return JSONResponse(scenario.model_dump(mode="json"))

    async def delete_scenario(request: Request) -> Response:
        state.remove_scenario(request.path_params["key"])
        return Response(status_code=204)

    async def requests(request: Request) -> Response:
        action = request.query_params.get("action")
        log = [r for r in state.requests() if action is None or r.action == action]
        return JSONResponse([r.model_dump(mode="json") for r in log])

    async def streams(request: Request) -> Response:
        stopped = [s.model_dump(mode="json") for s in state.stopped_messages()]
        return JSONResponse({"active": state.active_streams(), "stopped": stopped})

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({})

    return [
        Route(f"{ADMIN_PREFIX}/health", health, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/scenarios", list_scenarios, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/scenarios/{{key:path}}", put_scenario, methods=["PUT"]),
        Route(f"{ADMIN_PREFIX}/scenarios/{{key:path}}", delete_scenario, methods=["DELETE"]),
        Route(f"{ADMIN_PREFIX}/requests", requests, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/streams", streams, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/reset", reset, methods=["POST"]),
    ]
