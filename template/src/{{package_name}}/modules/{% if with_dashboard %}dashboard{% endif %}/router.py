"""GET /dashboard/menu: the menu links of every loaded module, for the signed-in role."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...core.plugins import ModuleManifest
from ..auth.dependencies import AnyRoleUser
from .menu import MenuLink, menu_for

router = APIRouter(prefix="/dashboard", tags=["dashboard"])


@router.get("/menu", response_model=list[MenuLink], summary="Dashboard menu")
async def menu(request: Request, user: AnyRoleUser) -> list[MenuLink]:
    """The links modules add to the dashboard menu that the caller's role may see."""
    modules: list[ModuleManifest] = request.app.state.modules
    return menu_for(modules, user.role)
