"""Is HiAgent reachable, and does it accept our credentials? In plain words.

Used by `<slug> hiagent ping` and by the readiness check. One harmless call per surface:
- App API: `get_app_config_preview` (with `app_key` when given; without one, any HiAgent-style
  answer proves the address is right);
- TOP OpenAPI: a signed `GetWorkflow` for a made-up id (an answer other than 401/403 proves the
  access key and secret key are accepted).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from hiagent_api.chat_types import GetAppConfigPreviewRequest
from hiagent_api.workflow_types import GetWorkflowRequest
from pydantic import ValidationError

from .errors import ErrorType, check_answer, classify
from .services import HiAgentServices

PROBE_USER = "hiagent-ping"
_PROBE_ID = "hiagent-ping"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Whether one HiAgent surface answers as it should, in plain words."""

    surface: str
    address: str
    ok: bool
    message: str


async def probe(
    services: HiAgentServices, *, app_key: str | None = None, timeout_s: float = 5.0
) -> list[ProbeResult]:
    """Probe the App API and the TOP OpenAPI at the same time."""
    results = await asyncio.gather(
        _probe_app(services, app_key, timeout_s), _probe_top(services, timeout_s)
    )
    return list(results)


async def _probe_app(
    services: HiAgentServices, app_key: str | None, timeout_s: float
) -> ProbeResult:
    address = services.app_base_url
    name = "HiAgent App API (HIAGENT_APP_BASE_URL)"
    key = app_key or ""
    request = GetAppConfigPreviewRequest(app_key=key, user_id=PROBE_USER)
    try:
        async with asyncio.timeout(timeout_s):
            check_answer(await services.chat.aget_app(key, request), "get_app_config_preview")
    except TimeoutError:
        return ProbeResult(name, address, False, f"no answer within {timeout_s:g} s")
    except Exception as exc:
        return _app_problem(name, address, exc, app_key)
    words = "reachable; the app key is accepted" if app_key else "reachable"
    return ProbeResult(name, address, True, words)


def _app_problem(name: str, address: str, exc: Exception, app_key: str | None) -> ProbeResult:
    status = _status(exc)
    if status is None:
        error = classify(exc, "get_app_config_preview")
        if error is not None and error.error_type is ErrorType.AUTH and not app_key:
            return ProbeResult(name, address, True, "reachable (app key not checked)")
        return ProbeResult(name, address, False, _words(exc))
    if status in (401, 403):
        if app_key:
            return ProbeResult(
                name, address, False, f"reachable, but the app key is rejected ({status})"
            )
        return ProbeResult(name, address, True, "reachable (app key not checked)")
    if not _is_hiagent_answer(exc):
        return ProbeResult(
            name,
            address,
            False,
            f"wrong address: it answered {status} without a HiAgent error "
            "(the App API address usually ends in /api/proxy/api/v1)",
        )
    if status >= 500:
        return ProbeResult(name, address, False, f"HiAgent answered {status}: it is having trouble")
    return ProbeResult(name, address, True, f"reachable (answered {status} to the probe)")


async def _probe_top(services: HiAgentServices, timeout_s: float) -> ProbeResult:
    address = services.top_endpoint
    name = "HiAgent OpenAPI (HIAGENT_TOP_ENDPOINT)"
    request = GetWorkflowRequest(id=_PROBE_ID, workspace_id=_PROBE_ID)
    try:
        async with asyncio.timeout(timeout_s):
            await services.workflow.aget_workflow(request)
    except TimeoutError:
        return ProbeResult(name, address, False, f"no answer within {timeout_s:g} s")
    except ValidationError:
        pass  # an answer we cannot parse still proves the signature was accepted
    except Exception as exc:
        status = _status(exc)
        if status in (401, 403):
            return ProbeResult(
                name,
                address,
                False,
                f"reachable, but sign-in failed ({status}): check VOLC_ACCESSKEY and "
                "VOLC_SECRETKEY",
            )
        if status is None:
            return ProbeResult(name, address, False, _words(exc))
        if not _is_hiagent_answer(exc):
            return ProbeResult(
                name, address, False, f"wrong address: it answered {status} without a HiAgent error"
            )
        if status >= 500:
            return ProbeResult(
                name, address, False, f"HiAgent answered {status}: it is having trouble"
            )
    return ProbeResult(name, address, True, "reachable; the access key is accepted")


def _status(exc: Exception) -> int | None:
    return exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None


def _is_hiagent_answer(exc: Exception) -> bool:
    if not isinstance(exc, httpx.HTTPStatusError):
        return False
    try:
        body: Any = exc.response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "ResponseMetadata" in body


def _words(exc: Exception) -> str:
    error = classify(exc, "the probe")
    return error.message if error is not None else f"{type(exc).__name__}: {exc}"


async def check_app_key(
    services: HiAgentServices, app_key: str, *, timeout_s: float = 5.0
) -> tuple[str, str]:
    """Ask HiAgent about one app key with a harmless `get_app_config_preview`.

    Returns `(verdict, app name or HiAgent's own words)`: verdict `accepted`, `rejected`
    (HiAgent refused the key) or `unknown` (HiAgent could not be asked).
    """
    request = GetAppConfigPreviewRequest(app_key=app_key, user_id=PROBE_USER)
    try:
        async with asyncio.timeout(timeout_s):
            answer = check_answer(
                await services.chat.aget_app(app_key, request), "get_app_config_preview"
            )
    except TimeoutError:
        return "unknown", ""
    except Exception as exc:
        error = classify(exc, "get_app_config_preview")
        if error is None:
            raise
        if error.error_type is ErrorType.AUTH:
            return "rejected", error.said
        refused = error.status == 200 or (  # an error envelope, or a HiAgent 4xx answer
            error.status is not None and 400 <= error.status < 500 and _is_hiagent_answer(exc)
        )
        if refused:
            # HiAgent looked the key up and refused the app (unpublished, deleted, ...).
            return "rejected", error.said
        return "unknown", error.said
    return "accepted", str(getattr(answer, "name", "") or "")
