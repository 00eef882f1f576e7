"""The dashboard menu: the links modules declare in their manifests, for one role."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from ...core.plugins import ModuleManifest


class MenuLink(BaseModel):
    """A menu entry and the module that declared it."""

    label: str
    path: str
    module: str


def menu_for(modules: Iterable[ModuleManifest], role: str) -> list[MenuLink]:
    """Every module's `dashboard_links` that `role` may see, in module order."""
    return [
        MenuLink(label=link.label, path=link.path, module=module.name)
        for module in modules
        for link in module.dashboard_links
        if role in link.roles
    ]
