"""`add-module NAME`: a complete module that works at once (model, API, event, migration, tests).

The generated files are ordinary code owned by the product from then on; `copier update`
never touches them.
"""

from __future__ import annotations

import keyword
import re
from datetime import UTC, datetime
from pathlib import Path
from string import Template

MODULES_DIR = Path(__file__).resolve().parent.parent / "modules"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED = {"core", "hiagent", "testing", "tests", "migrations", "worker", "modules"}
# The core revision that creates the users table, which a scaffolded module's rows point at.
USERS_REVISION = "0001"

_FILES: dict[str, str] = {
    "__init__.py": '''"""$title: a product module."""
''',
    "models.py": '''"""Tables of the $name module."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field


class $cls(SQLModel, table=True):
    """One $name item."""

    __tablename__ = "$table"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    notes: str = Field(default="", max_length=5000)
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = created_at_field(index=True)
''',
    "schemas.py": '''"""Request and response bodies of the $name API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _stripped(value: str) -> str:
    # After the length limits, so they apply to the text as sent (as the OpenAPI schema says).
    return value.strip()


def _stripped_not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class ${cls}Create(BaseModel):
    """A new item."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_stripped_not_blank)]
    notes: Annotated[str, Field(max_length=5000), AfterValidator(_stripped)] = ""


class ${cls}Read(BaseModel):
    """An item as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    notes: str
    created_by: int | None
    created_at: datetime


class ${cls}Page(BaseModel):
    """A page of items, newest first."""

    items: list[${cls}Read]
    total: int
''',
    "events.py": '''"""Events of the $name module: other modules may subscribe to them."""

from __future__ import annotations

from typing import ClassVar

from ...core.events.bus import DomainEvent


class ${cls}Created(DomainEvent):
    """An item was stored (published in the same transaction)."""

    event_type: ClassVar[str] = "$name.created"

    item_id: int
''',
    "service.py": '''"""Business rules of the $name module."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.events.bus import EventBus
from .events import ${cls}Created
from .models import $cls
from .schemas import ${cls}Create


async def create_item(
    session: AsyncSession,
    events: EventBus,
    data: ${cls}Create,
    user_id: int | None,
) -> $cls:
    """Store a new item and publish `${cls}Created` with it (both or neither)."""
    item = $cls(**data.model_dump(), created_by=user_id)
    session.add(item)
    await session.flush()
    assert item.id is not None
    events.publish(session, ${cls}Created(item_id=item.id), source="$name")
    await session.commit()
    await session.refresh(item)
    return item


async def list_items(
    session: AsyncSession,
    limit: int,
    offset: int,
) -> tuple[list[$cls], int]:
    """A page of items, newest first, and the total."""
    rows = await session.exec(
        select($cls).order_by(col($cls.id).desc()).limit(limit).offset(offset)
    )
    total = await session.exec(select(func.count()).select_from($cls))
    return list(rows.all()), int(total.one())
''',
    "router.py": '''"""/$url: read for every role, create for admins and configurators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from ...core.db import SessionDep
from ...core.events.dependencies import EventBusDep
from ...core.params import WRITTEN_AS_INTEGER, PageOffset
from ..auth.dependencies import AnyRoleUser, ConfiguratorUser
from .schemas import ${cls}Create, ${cls}Page, ${cls}Read
from .service import create_item, list_items

router = APIRouter(prefix="/$url", tags=["$url"])


@router.get(
    "",
    response_model=${cls}Page,
    summary="List $name items",
)
async def list_all(
    session: SessionDep,
    _: AnyRoleUser,
    limit: Annotated[int, Query(ge=1, le=200), WRITTEN_AS_INTEGER] = 50,
    offset: PageOffset = 0,
) -> ${cls}Page:
    """Items, newest first."""
    items, total = await list_items(session, limit, offset)
    return ${cls}Page(
        items=[${cls}Read.model_validate(item) for item in items],
        total=total,
    )


@router.post(
    "",
    response_model=${cls}Read,
    status_code=status.HTTP_201_CREATED,
    summary="Create",
)
async def create(
    data: ${cls}Create,
    session: SessionDep,
    events: EventBusDep,
    user: ConfiguratorUser,
) -> ${cls}Read:
    """Add an item."""
    return ${cls}Read.model_validate(await create_item(session, events, data, user.id))
''',
    "module.py": '''"""Manifest of the $name module."""

from ...core.plugins import CONFIGURE, EVERYONE, Access, ModuleManifest
from .models import $cls
from .router import router

manifest = ModuleManifest(
    name="$name",
    router=router,
    models=[$cls],
    description="$title",
    # Who may call each route: the permission tests and check-modules hold the routes to it.
    access=[
        Access("/$url", EVERYONE, methods=("GET",)),
        Access("/$url", CONFIGURE, methods=("POST",)),
    ],
    # Its migrations are in migrations/ beside this file, on the Alembic branch "$name".
    # Also: subscriptions=[...] (@subscribe handlers), actors=[...] (@actor background jobs),
    # settings=<a BaseSettings class>, dashboard_links=[...], setup, lifespan, cli.
    # See docs/modules.md.
)
''',
    "tests/__init__.py": "",
    "tests/test_$name.py": '''"""The $name API: create, list, the event, permissions, validation."""

from __future__ import annotations

import httpx

from ....testing.events import EventLog

URL = "/api/v1/$url"


async def test_create_and_list(
    client: httpx.AsyncClient, configurator_headers: dict[str, str], event_log: EventLog
) -> None:
    created = await client.post(URL, json={"title": "First"}, headers=configurator_headers)
    assert created.status_code == 201, created.text
    listed = await client.get(URL, headers=configurator_headers)
    assert [item["title"] for item in listed.json()["items"]] == ["First"]
    [event] = await event_log.published("$name.created")
    assert event.payload == {"item_id": created.json()["id"]}


async def test_viewers_read_but_do_not_write(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    assert (await client.get(URL, headers=viewer_headers)).status_code == 200
    denied = await client.post(URL, json={"title": "x"}, headers=viewer_headers)
    assert denied.status_code == 403


async def test_bad_input_is_422(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(URL, json={"title": ""}, headers=admin_headers)
    assert response.status_code == 422
''',
}

_MIGRATION = '''"""add $name module: the first revision of its branch

Revision ID: $revision
Revises:
Depends on: $depends
Create Date: $date
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "$revision"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("$name",)
# Its rows point at users, which the core branch creates.
depends_on: str | Sequence[str] | None = "$depends"


def upgrade() -> None:
    op.create_table(
        "$table",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.String(length=5000), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_${table}_created_at"),
        "$table",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_${table}_created_at"), table_name="$table")
    op.drop_table("$table")
'''


def validate_name(name: str, modules_dir: Path = MODULES_DIR) -> None:
    """Raise ValueError saying what is wrong with a new module's name."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ValueError(
            f"{name!r} is not a valid module name: use 2-40 lower-case letters, digits and "
            "underscores, starting with a letter (for example: billing)"
        )
    if name in RESERVED:
        raise ValueError(f"{name!r} is reserved by the template; choose another name")
    if (modules_dir / name).exists():
        raise ValueError(f"a module named {name!r} already exists in {modules_dir / name}")


def scaffold_module(name: str, modules_dir: Path = MODULES_DIR) -> list[Path]:
    """Write the module, with its migration on a branch of its own; returns the files created."""
    validate_name(name, modules_dir)
    values = {
        "name": name,
        "title": name.replace("_", " ").capitalize(),
        "cls": "".join(part.capitalize() for part in name.split("_")) + "Item",
        "table": f"{name}_items",
        "url": name.replace("_", "-"),
        "revision": f"{name}_0001",
        "depends": USERS_REVISION,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    created = []
    target = modules_dir / name
    for relative, text in _FILES.items():
        path = target / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
        created.append(path)
    migration = target / "migrations" / f"{name}_0001_add_{name}.py"
    migration.parent.mkdir()
    migration.write_text(Template(_MIGRATION).substitute(values), encoding="utf-8")
    created.append(migration)
    return created
