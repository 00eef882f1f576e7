"""Module discovery: built-in modules under `modules/` and installed plugins.

A module is a package exposing `manifest: ModuleManifest` in its `module.py`. Installed
distributions register theirs under the entry-point group `<package_name>.modules`.
Modules load in (`order`, `name`) order; a broken module stops start-up and is named.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import typer
from fastapi import APIRouter, FastAPI
from pydantic_settings import BaseSettings
from sqlmodel import SQLModel

from .actors import Actor
from .events.bus import Subscription
from .project import PACKAGE_NAME

ENTRY_POINT_GROUP = f"{PACKAGE_NAME}.modules"


@dataclass(frozen=True)
class DashboardLink:
    """A link a module adds to the dashboard menu."""

    label: str
    path: str
    roles: tuple[str, ...] = ("admin", "configurator", "viewer")


ROLES = ("admin", "configurator", "viewer")
EVERYONE: tuple[str, ...] = ROLES
CONFIGURE: tuple[str, ...] = ("admin", "configurator")
ADMIN_ONLY: tuple[str, ...] = ("admin",)


@dataclass(frozen=True)
class Access:
    """Who may call a module's routes whose path starts with `path` (below `/api/v1`).

    `{...}` in `path` stands for one path parameter of any name. The first declaration of a
    module that matches a route's path and method is its policy; the permission tests hold
    every route to it, and `check-modules` names a route that no declaration covers.
    """

    path: str
    roles: Sequence[str] = ()
    methods: Sequence[str] = ("*",)
    # Open to callers who are not signed in (sign-in itself); `roles` is then ignored.
    public: bool = False

    def matches(self, method: str, path: str) -> bool:
        """True when this declaration covers `method path` (a route template)."""
        if "*" not in self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        declared = _segments(self.path)
        return _segments(path)[: len(declared)] == declared


def _segments(path: str) -> list[str]:
    return ["{}" if part.startswith("{") else part for part in path.strip("/").split("/")]


def access_for(manifest: ModuleManifest, method: str, path: str) -> Access | None:
    """The module's declaration covering `method path`, or None when it declares none."""
    return next((rule for rule in manifest.access if rule.matches(method, path)), None)


@dataclass(frozen=True)
class ModuleManifest:
    """What a module contributes. Every field but `name` is optional."""

    name: str
    router: APIRouter | None = None
    models: Sequence[type[SQLModel]] = ()
    order: int = 100
    description: str = ""
    dashboard_links: Sequence[DashboardLink] = ()
    # Who may call each route of `router`, e.g. `[Access("/billing", CONFIGURE)]`; see Access.
    access: Sequence[Access] = ()
    # The module's own Alembic branch (label: the module's name); for a module in `modules/`
    # and for a plugin, a `migrations/` folder beside its module.py is found without this.
    migrations: Path | None = None
    # Request bodies larger than HTTP_MAX_BODY_BYTES, by path prefix: {"/api/v1/imports": 50 << 20}.
    body_limits: dict[str, int] = field(default_factory=dict)
    # Called with the app after routers are mounted: override dependencies, add checks.
    setup: Callable[[FastAPI], None] | None = None
    # Entered in module order after the database starts, exited in reverse at shutdown.
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None
    # Run by `bootstrap` and `dev` before serving: build assets, generate clients.
    prepare: Callable[[], None] | None = None
    # Run by `dev` only: start embedded services or helper processes (stopped at exit);
    # may set environment variables before the settings are read again.
    dev: Callable[[], None] | None = None
    # Commands merged into the project CLI (e.g. `worker`, `retention run`).
    cli: typer.Typer | None = None
    # Event handlers made with `@subscribe(EventType)`; delivered by the event bus.
    subscriptions: Sequence[Subscription[Any]] = ()
    # Background jobs made with `@actor("<module>.<job>")`: run by the workers, or in process.
    actors: Sequence[Actor[Any]] = ()
    # A `BaseSettings` class, read and checked at start-up; `settings_of(app, cls)` gives it.
    settings: type[BaseSettings] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ModuleLoadError(RuntimeError):
    """A module cannot be loaded; the message names it and says what to fix."""

    def __init__(self, module: str, problem: str, fix: str) -> None:
        self.module = module
        self.problem = problem
        self.fix = fix
        super().__init__(f"Module {module!r}: {problem}. Fix: {fix}")


def _builtin_module_names() -> list[str]:
    package = importlib.import_module(f"{PACKAGE_NAME}.modules")
    return [
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if info.ispkg and not info.name.startswith("_")
    ]


def _load_builtin(name: str) -> ModuleManifest:
    dotted = f"{PACKAGE_NAME}.modules.{name}.module"
    package_dir = Path(importlib.import_module(f"{PACKAGE_NAME}.modules").__path__[0]) / name
    if not (package_dir / "module.py").exists():
        raise ModuleLoadError(
            name, f"{package_dir / 'module.py'} is missing", "add module.py defining `manifest`"
        )
    return _with_migrations(_import_builtin(name, dotted), package_dir)


def _import_builtin(name: str, dotted: str) -> ModuleManifest:
    try:
        loaded = importlib.import_module(dotted)
    except Exception as exc:
        raise ModuleLoadError(
            name,
            f"importing {dotted} failed with {type(exc).__name__}: {exc}",
            "run `check-modules` for the file and line",
        ) from exc
    return _manifest_of(name, loaded)


def _manifest_of(name: str, loaded: object) -> ModuleManifest:
    manifest = getattr(loaded, "manifest", None)
    if not isinstance(manifest, ModuleManifest):
        raise ModuleLoadError(
            name,
            "it does not define `manifest = ModuleManifest(...)`",
            "define `manifest` in module.py",
        )
    return manifest


def discover_modules() -> list[ModuleManifest]:
    """All modules, built-in and installed, in load order."""
    manifests = [_load_builtin(name) for name in _builtin_module_names()]
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as exc:
            raise ModuleLoadError(
                entry.name,
                f"loading entry point {entry.value} failed: {exc}",
                "check the plugin distribution is installed and importable",
            ) from exc
        manifest = (
            loaded if isinstance(loaded, ModuleManifest) else _manifest_of(entry.name, loaded)
        )
        manifests.append(_with_migrations(manifest, _folder_of(entry.module)))
    _check_unique(manifests)
    return sorted(manifests, key=lambda m: (m.order, m.name))


def _folder_of(dotted: str) -> Path | None:
    spec = importlib.util.find_spec(dotted)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _with_migrations(manifest: ModuleManifest, folder: Path | None) -> ModuleManifest:
    """The manifest with its migrations folder filled in when one sits beside module.py."""
    if manifest.migrations is not None or folder is None:
        return manifest
    found = folder / "migrations"
    return replace(manifest, migrations=found) if found.is_dir() else manifest


def _check_unique(manifests: list[ModuleManifest]) -> None:
    names = [m.name for m in manifests]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ModuleLoadError(duplicates[0], "two modules share this name", "rename one of them")
    owners: dict[str, str] = {}
    for manifest in manifests:
        for job in manifest.actors:
            if job.name in owners:
                raise ModuleLoadError(
                    manifest.name,
                    f"its actor {job.name!r} is also declared by module {owners[job.name]!r}",
                    f"name the actor '{manifest.name}.<job>'",
                )
            owners[job.name] = manifest.name


def import_all_models() -> None:
    """Import every module's models so `SQLModel.metadata` is complete (Alembic, tests)."""
    importlib.import_module(f"{PACKAGE_NAME}.core.events.models")
    discover_modules()
