"""Settings a module declares in its manifest, read and checked once at start-up.

    class BillingSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="BILLING_", env_file=".env", extra="ignore")
        currency: str = "EUR"

    manifest = ModuleManifest(name="billing", settings=BillingSettings, ...)

    settings_of(app, BillingSettings).currency            # anywhere the app is at hand
    async def route(settings: Annotated[BillingSettings, module_settings(BillingSettings)]): ...

A value the environment gets wrong stops start-up with the module and the variable named.
Replace a module's settings (tests, a plugin tuning another module) with
`create_app(module_settings=[BillingSettings(currency="USD")])` or, in a later module's
`setup(app)`, `override_settings(app, BillingSettings(currency="USD"))`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from pydantic import ValidationError
from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from .plugins import ModuleManifest

S = TypeVar("S", bound=BaseSettings)


def variable_name(kind: type[BaseSettings], location: Sequence[int | str]) -> str:
    """The environment variable behind a field, as a person would set it."""
    prefix = str(kind.model_config.get("env_prefix") or "")
    field = str(location[0]) if location else "?"
    return f"{prefix}{field}".upper()


def settings_problems(kind: type[BaseSettings], error: ValidationError) -> list[str]:
    """One line per wrong or missing variable: the variable, then what is wrong."""
    return [f"{variable_name(kind, p['loc'])}: {p['msg']}" for p in error.errors()]


def load_module_settings(
    modules: Iterable[ModuleManifest], given: Iterable[BaseSettings] = ()
) -> tuple[dict[type[BaseSettings], BaseSettings], list[str]]:
    """Every module's settings (given instances win over the environment), and the problems."""
    loaded: dict[type[BaseSettings], BaseSettings] = {type(s): s for s in given}
    problems: list[str] = []
    for module in modules:
        kind = module.settings
        if kind is None or kind in loaded:
            continue
        try:
            loaded[kind] = kind()
        except ValidationError as exc:
            problems += [
                f"module {module.name!r}: {problem} (set it in the environment or in .env)"
                for problem in settings_problems(kind, exc)
            ]
    return loaded, problems


def settings_of(app: FastAPI, kind: type[S]) -> S:
    """The running app's instance of a module's settings class."""
    loaded: dict[type[BaseSettings], BaseSettings] = app.state.module_settings
    try:
        found = loaded[kind]
    except KeyError:
        raise LookupError(
            f"{kind.__name__} is not the `settings` of any loaded module: "
            "declare it in the module's manifest"
        ) from None
    assert isinstance(found, kind)
    return found


def override_settings(app: FastAPI, replacement: BaseSettings) -> None:
    """Replace a module's settings in this app (from a later module's `setup`, or tests)."""
    loaded: dict[type[BaseSettings], BaseSettings] = app.state.module_settings
    settings_of(app, type(replacement))  # only a declared class may be replaced
    loaded[type(replacement)] = replacement


def module_settings(kind: type[S]) -> Any:
    """A FastAPI dependency giving a route its module's settings."""

    def dependency(request: Request) -> S:
        return settings_of(request.app, kind)

    return Depends(dependency)
