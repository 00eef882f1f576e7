"""The request recorder, handed to routes and to the gateway."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .recorder import RequestRecorder


async def get_request_recorder(request: Request) -> RequestRecorder:
    """The process's recorder, started by the analytics module's lifespan."""
    recorder: RequestRecorder = request.app.state.request_recorder
    return recorder


RequestRecorderDep = Annotated[RequestRecorder, Depends(get_request_recorder)]
