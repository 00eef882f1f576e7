"""`check-modules`: validate every module's structure and manifest, naming file and fix."""

from __future__ import annotations

import ast
import importlib
import traceback
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from sqlmodel import SQLModel

from .actors import Actor
from .module_settings import settings_problems
from .plugins import ENTRY_POINT_GROUP, ROLES, ModuleManifest, access_for
from .project import PACKAGE_NAME
from .scaffold import MODULES_DIR


@dataclass(frozen=True)
class ModuleProblem:
    """One problem: which module, where, what, and how to fix it."""

    module: str
    file: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.module}: {self.file}: {self.problem}\n    fix: {self.fix}"


def _syntax_problems(name: str, folder: Path) -> list[ModuleProblem]:
    problems = []
    for path in sorted(folder.rglob("*.py")):
        try:
            ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            problems.append(
                ModuleProblem(
                    name,
                    f"{path}:{exc.lineno}",
                    f"does not parse: {exc.msg}",
                    "correct the Python syntax on that line",
                )
            )
    return problems


def _manifest_problems(name: str, manifest: object, where: str) -> list[ModuleProblem]:
    if not isinstance(manifest, ModuleManifest):
        return [
            ModuleProblem(
                name,
                where,
                "`manifest` is missing or not a ModuleManifest",
                "define `manifest = ModuleManifest(name=..., router=...)` in module.py",
            )
        ]
    problems = []
    if manifest.name != name:
        problems.append(
            ModuleProblem(
                name,
                where,
                f"manifest.name is {manifest.name!r}",
                f"set name={name!r} (it must match the folder or entry point)",
            )
        )
    if manifest.router is not None and not isinstance(manifest.router, APIRouter):
        problems.append(
            ModuleProblem(name, where, "router is not a FastAPI APIRouter", "pass an APIRouter")
        )
    for model in manifest.models:
        if not (isinstance(model, type) and issubclass(model, SQLModel)):
            problems.append(
                ModuleProblem(
                    name,
                    where,
                    f"{model!r} in models is not a SQLModel class",
                    "list SQLModel table classes only",
                )
            )
    return (
        problems
        + _access_problems(name, manifest, where)
        + _actor_problems(name, manifest, where)
        + _settings_problems(manifest, where)
    )


def _access_problems(name: str, manifest: ModuleManifest, where: str) -> list[ModuleProblem]:
    """Every route needs a declared policy, and policies name real roles."""
    problems = []
    for rule in manifest.access:
        unknown = sorted(set(rule.roles) - set(ROLES))
        if unknown:
            problems.append(
                ModuleProblem(
                    name,
                    where,
                    f"Access({rule.path!r}) names unknown roles {unknown}",
                    f"use roles from {list(ROLES)} (EVERYONE, CONFIGURE or ADMIN_ONLY)",
                )
            )
    routes = manifest.router.routes if isinstance(manifest.router, APIRouter) else []
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods or ()):
            if access_for(manifest, method, route.path) is None:
                problems.append(
                    ModuleProblem(
                        name,
                        where,
                        f"route {method} /api/v1{route.path} declares no access policy",
                        f'add Access("{route.path}", EVERYONE | CONFIGURE | ADMIN_ONLY, '
                        f'methods=("{method}",)) to `access=[...]` in its manifest',
                    )
                )
    return problems


def _actor_problems(name: str, manifest: ModuleManifest, where: str) -> list[ModuleProblem]:
    problems = []
    for job in manifest.actors:
        if not isinstance(job, Actor):
            problems.append(
                ModuleProblem(
                    name,
                    where,
                    f"{job!r} in actors is not an actor",
                    f"decorate the async function with @actor('{name}.<job>')",
                )
            )
        elif not job.name.startswith(f"{name}."):
            problems.append(
                ModuleProblem(
                    name,
                    where,
                    f"actor {job.name!r} is not named after its module",
                    f"name it '{name}.{job.name.rpartition('.')[2]}'",
                )
            )
    return problems


def _settings_problems(manifest: ModuleManifest, where: str) -> list[ModuleProblem]:
    kind = manifest.settings
    if kind is None:
        return []
    if not (isinstance(kind, type) and issubclass(kind, BaseSettings)):
        return [
            ModuleProblem(
                manifest.name,
                where,
                f"settings is {kind!r}, not a BaseSettings class",
                "pass the class (not an instance) of a pydantic-settings BaseSettings",
            )
        ]
    try:
        kind()
    except ValidationError as exc:
        return [
            ModuleProblem(manifest.name, where, problem, "set it in the environment or in .env")
            for problem in settings_problems(kind, exc)
        ]
    return []


def _import_problems(name: str, folder: Path) -> list[ModuleProblem]:
    dotted = f"{PACKAGE_NAME}.modules.{name}.module"
    try:
        loaded = importlib.import_module(dotted)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        inside = [f for f in frames if str(folder) in f.filename] or frames[-1:]
        where = f"{inside[-1].filename}:{inside[-1].lineno}" if inside else str(folder)
        return [
            ModuleProblem(
                name,
                where,
                f"importing fails: {type(exc).__name__}: {exc}",
                "fix the error at that line (run the module's tests for details)",
            )
        ]
    return _manifest_problems(name, getattr(loaded, "manifest", None), str(folder / "module.py"))


def check_builtin(name: str, folder: Path) -> list[ModuleProblem]:
    """Problems of the module in `folder`, from structure to import."""
    problems = []
    if not (folder / "__init__.py").exists():
        problems.append(
            ModuleProblem(name, str(folder), "no __init__.py", "add an empty __init__.py")
        )
    if not (folder / "module.py").exists():
        problems.append(
            ModuleProblem(
                name,
                str(folder / "module.py"),
                "is missing",
                "add module.py defining `manifest = ModuleManifest(...)`",
            )
        )
    if not (folder / "tests").is_dir():
        problems.append(
            ModuleProblem(
                name,
                str(folder / "tests"),
                "the module has no tests",
                f"add tests/__init__.py and tests/test_{name}.py",
            )
        )
    syntax = _syntax_problems(name, folder)
    if problems or syntax:
        return problems + syntax
    return _import_problems(name, folder)


def check_plugins() -> list[ModuleProblem]:
    """Problems of modules installed as distributions (entry points)."""
    problems = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as exc:
            problems.append(
                ModuleProblem(
                    entry.name,
                    entry.value,
                    f"loading fails: {type(exc).__name__}: {exc}",
                    "reinstall the plugin distribution or fix its import",
                )
            )
            continue
        manifest = getattr(loaded, "manifest", loaded)
        problems += _manifest_problems(entry.name, manifest, f"entry point {entry.value}")
    return problems


def check_modules(modules_dir: Path = MODULES_DIR) -> tuple[list[str], list[ModuleProblem]]:
    """Names of the modules checked and every problem found."""
    names: list[str] = []
    problems: list[ModuleProblem] = []
    for folder in sorted(p for p in modules_dir.iterdir() if p.is_dir()):
        if folder.name.startswith(("_", ".")) or not any(folder.glob("*.py")):
            continue
        names.append(folder.name)
        problems += check_builtin(folder.name, folder)
    names += [entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)]
    problems += check_plugins()
    return names, problems
