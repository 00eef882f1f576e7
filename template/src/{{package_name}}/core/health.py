"""Liveness and readiness. Readiness names each failing dependency in plain words."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

CheckFn = Callable[[Request], Awaitable[str | None]]


@dataclass(frozen=True)
class ReadinessCheck:
    """A dependency check: returns None when healthy, or a plain-words problem.

    A non-critical check is reported but does not make the service unready
    (for example HiAgent: the API still serves configuration and analytics).
    """

    name: str
    check: CheckFn
    critical: bool = True
    timeout_s: float = 3.0


router = APIRouter(tags=["health"])


@router.get("/health/live", summary="The process is up")
async def live() -> dict[str, str]:
    """Liveness: answers as long as the event loop runs; checks no dependency."""
    return {"status": "ok"}


async def _run(check: ReadinessCheck, request: Request) -> dict[str, Any]:
    try:
        problem = await asyncio.wait_for(check.check(request), timeout=check.timeout_s)
    except TimeoutError:
        problem = f"{check.name} did not answer within {check.timeout_s:g} s"
    except Exception as exc:  # a failing check must be reported, not crash readiness
        problem = f"{check.name} check failed: {exc}"
    result: dict[str, Any] = {"ok": problem is None, "critical": check.critical}
    if problem is not None:
        result["detail"] = problem
    return result


@router.get("/health/ready", summary="The service can serve requests")
async def ready(request: Request) -> JSONResponse:
    """Readiness: every registered check, each named; 503 if a critical one fails."""
    checks: list[ReadinessCheck] = request.app.state.readiness_checks
    results = await asyncio.gather(*(_run(check, request) for check in checks))
    report = {check.name: result for check, result in zip(checks, results, strict=True)}
    failing = [name for name, r in report.items() if not r["ok"] and r["critical"]]
    body: dict[str, Any] = {"status": "ready" if not failing else "not_ready", "checks": report}
    if failing:
        body["message"] = "; ".join(report[name]["detail"] for name in failing)
    return JSONResponse(body, status_code=503 if failing else 200)
