"""JSON bodies the SDK accepts: the error envelope and the TOP result envelope."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

TOP_VERSION = "2023-08-01"
TOP_SERVICE = "app"
DEFAULT_REGION = "cn-north-1"


def error_response(
    request_id: str,
    action: str,
    *,
    status: int,
    code: str,
    message: str,
    retry_after: int | None = None,
) -> JSONResponse:
    """A `ResponseMetadata.Error` envelope; the SDK detects it by its three key names."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = {
        "ResponseMetadata": {
            "RequestId": request_id,
            "Action": action,
            "Version": TOP_VERSION,
            "Service": TOP_SERVICE,
            "Region": DEFAULT_REGION,
            "Error": {"Code": code, "Message": message},
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def top_result(request_id: str, action: str, region: str, result: dict[str, Any]) -> JSONResponse:
    """A successful TOP answer: HTTP 200 with `ResponseMetadata` and `Result`."""
    metadata = {
        "RequestId": request_id,
        "Action": action,
        "Version": TOP_VERSION,
        "Service": TOP_SERVICE,
        "Region": region,
    }
    return JSONResponse({"ResponseMetadata": metadata, "Result": result})
