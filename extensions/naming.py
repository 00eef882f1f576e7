"""Jinja filters for naming: slugs and Python package names.

Loaded by copier.yml (`_jinja_extensions`), which needs `copier-template-extensions`
installed next to Copier: `uv tool install copier --with copier-template-extensions`.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

from jinja2 import Environment
from jinja2.ext import Extension

_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
# Names the generated project imports itself: a package named like one would shadow it.
_RESERVED = {
    "alembic",
    "app",
    "asyncpg",
    "dramatiq",
    "fastapi",
    "hiagent",
    "hiagent_api",
    "hiagent_components",
    "pydantic",
    "redis",
    "sqlalchemy",
    "sqlmodel",
    "src",
    "starlette",
    "test",
    "tests",
    "typer",
    "uvicorn",
}


def slugify(value: str) -> str:
    """Lower-case ASCII slug with single hyphens: "Acme Support!" -> "acme-support"."""
    ascii_value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_value.lower()).strip("-")
    if slug and not slug[0].isalpha():
        slug = f"app-{slug}"
    return slug or "app"


def is_slug(value: str) -> bool:
    """True for a valid distribution and command name."""
    return bool(_SLUG.match(value)) and len(value) <= 64


def is_package_name(value: str) -> bool:
    """True for an importable, non-reserved package name."""
    return (
        bool(_PACKAGE.match(value))
        and not keyword.iskeyword(value)
        and value not in _RESERVED
        and len(value) <= 64
    )


def is_username(value: str) -> bool:
    """True for a username the generated project accepts."""
    return bool(_USERNAME.match(value))


class NamingExtension(Extension):
    """Registers the naming filters."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["slugify"] = slugify
        environment.filters["is_slug"] = is_slug
        environment.filters["is_package_name"] = is_package_name
        environment.filters["is_username"] = is_username
