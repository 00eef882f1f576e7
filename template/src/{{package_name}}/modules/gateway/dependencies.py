"""Hand the process's gateway to routes: `gateway: GatewayDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .service import Gateway


async def get_gateway(request: Request) -> Gateway:
    """The gateway started by the module's lifespan."""
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
