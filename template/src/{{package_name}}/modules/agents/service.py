"""Agent configuration rules: unique names, per-type fields, a version for every change."""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.errors import ConflictError, InvalidRequestError, NotFoundError
from ...core.params import MAX_ROW_ID, escape_like
from .errors import AgentConfigNotFound
from .models import AgentConfig, AgentConfigVersion, ConfigType
from .schemas import AgentConfigCreate, AgentConfigRead, AgentConfigUpdate, ConfigSort

# Fields captured in each version snapshot (everything a person can change).
SNAPSHOT_FIELDS = tuple(AgentConfigCreate.model_fields)
SORTABLE = {sort.value for sort in ConfigSort if not sort.value.startswith("-")}
_READ_PAGE = TypeAdapter(list[AgentConfigRead])
# Built once: a statement's columns are coerced when it is made, about a third of its cost.
_PAGE = sa_select(*AgentConfig.__table__.columns, func.count().over().label("total"))  # type: ignore[attr-defined]


def snapshot(config: AgentConfig) -> dict[str, Any]:
    """The editable state of a configuration, JSON-ready."""
    data = config.model_dump(include=set(SNAPSHOT_FIELDS), mode="json")
    return {key: data[key] for key in SNAPSHOT_FIELDS}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-by-field changes between two snapshots."""
    keys = sorted(set(before) | set(after))
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in keys
        if before.get(key) != after.get(key)
    }


async def get_config(session: AsyncSession, config_id: int) -> AgentConfig:
    """The configuration with this id, or 404."""
    config = await session.get(AgentConfig, config_id)
    if config is None:
        raise NotFoundError(f"There is no agent configuration with id {config_id}.")
    return config


async def config_names(session: AsyncSession) -> list[str]:
    """All configuration names, sorted."""
    result = await session.exec(select(AgentConfig.name).order_by(col(AgentConfig.name)))
    return list(result.all())


async def find_config(session: AsyncSession, name_or_id: str) -> AgentConfig:
    """Look a configuration up by name (case-insensitive) or id.

    Raises `AgentConfigNotFound` (404) listing the available names.
    """
    config: AgentConfig | None = None
    # Ids are 32-bit ASCII digits: a longer run of digits can only be a name (and must not
    # overflow); other Unicode "digits" such as "²" are not numbers `int()` reads.
    if name_or_id.isascii() and name_or_id.isdigit() and int(name_or_id) <= MAX_ROW_ID:
        config = await session.get(AgentConfig, int(name_or_id))
    if config is None:
        result = await session.exec(
            select(AgentConfig).where(func.lower(AgentConfig.name) == name_or_id.lower())
        )
        config = result.first()
    if config is None:
        raise AgentConfigNotFound(name_or_id, await config_names(session))
    return config


async def list_configs(
    session: AsyncSession,
    *,
    search: str | None,
    config_type: ConfigType | None,
    enabled: bool | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[AgentConfigRead], int]:
    """A filtered, sorted page of configurations and the total that matched.

    The dashboard's most frequent read, so it is one Core query (no ORM objects: the rows go
    straight to the response model, about half the CPU of loading entities), with the total
    riding on every row (`count(*) OVER ()`, counted before LIMIT). PostgreSQL reads every
    matching row to count them either way; a product holds tens to hundreds of configurations.
    """
    conditions = []
    if search:
        # `%` and `_` typed by a person are literal characters, not wildcards.
        pattern = f"%{escape_like(search.strip().lower())}%"
        conditions.append(
            or_(
                func.lower(AgentConfig.name).like(pattern, escape="\\"),
                func.lower(AgentConfig.description).like(pattern, escape="\\"),
            )
        )
    if config_type is not None:
        conditions.append(col(AgentConfig.config_type) == config_type)
    if enabled is not None:
        conditions.append(col(AgentConfig.enabled) == enabled)
    descending = sort.startswith("-")
    field = sort.lstrip("-")
    if field not in SORTABLE:
        raise InvalidRequestError(
            f"Cannot sort by {field!r}; use one of {', '.join(sorted(SORTABLE))}."
        )
    order = getattr(AgentConfig, field)
    query = (
        _PAGE.where(*conditions)
        .order_by(order.desc() if descending else order, col(AgentConfig.id))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(query)).all()
    if rows:
        return _READ_PAGE.validate_python(rows), int(rows[0].total)
    if offset == 0:
        return [], 0
    # A page past the end has no row to carry the total.
    total = await session.exec(select(func.count()).select_from(AgentConfig).where(*conditions))
    return [], int(total.one())


async def suggest_name(session: AsyncSession, name: str) -> str:
    """The first free `name-N`."""
    base = re.sub(r"-\d+$", "", name)[:95]
    result = await session.exec(
        select(AgentConfig.name).where(
            func.lower(AgentConfig.name).like(f"{escape_like(base.lower())}-%", escape="\\")
        )
    )
    taken = {n.lower() for n in result.all()}
    number = 2
    while f"{base}-{number}".lower() in taken:
        number += 1
    return f"{base}-{number}"


async def _ensure_name_free(session: AsyncSession, name: str, own_id: int | None) -> None:
    result = await session.exec(
        select(AgentConfig.id).where(func.lower(AgentConfig.name) == name.lower())
    )
    existing = result.first()
    if existing is not None and existing != own_id:
        suggestion = await suggest_name(session, name)
        raise ConflictError(
            f"The name {name!r} is already used. Try {suggestion!r}.",
            field="name",
            suggested_name=suggestion,
        )


async def record_version(
    session: AsyncSession, config: AgentConfig, change: str, user_id: int | None
) -> None:
    assert config.id is not None
    session.add(
        AgentConfigVersion(
            agent_config_id=config.id,
            version=config.version,
            change=change,
            snapshot=snapshot(config),
            changed_by=user_id,
        )
    )


async def _commit_unique(session: AsyncSession, name: str) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:  # two requests raced for the same name
        await session.rollback()
        suggestion = await suggest_name(session, name)
        raise ConflictError(
            f"The name {name!r} is already used. Try {suggestion!r}.",
            field="name",
            suggested_name=suggestion,
        ) from exc


async def create_config(
    session: AsyncSession, data: AgentConfigCreate, user_id: int | None
) -> AgentConfig:
    """Create a configuration and its first version."""
    await _ensure_name_free(session, data.name, None)
    config = AgentConfig(**data.model_dump(), created_by=user_id, updated_by=user_id)
    session.add(config)
    await session.flush()
    await record_version(session, config, "created", user_id)
    await _commit_unique(session, data.name)
    await session.refresh(config)
    return config


def _validated_state(current: dict[str, Any], changes: dict[str, Any]) -> AgentConfigCreate:
    try:
        return AgentConfigCreate.model_validate({**current, **changes})
    except ValidationError as exc:
        messages = "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in exc.errors())
        raise InvalidRequestError(messages) from exc


async def update_config(
    session: AsyncSession, config: AgentConfig, data: AgentConfigUpdate, user_id: int | None
) -> AgentConfig:
    """Apply changes (validated as a whole for the resulting type) and store a version."""
    changes = data.model_dump(exclude_unset=True)
    return await _apply(session, config, changes, "updated", user_id)


async def _apply(
    session: AsyncSession,
    config: AgentConfig,
    changes: dict[str, Any],
    change: str,
    user_id: int | None,
) -> AgentConfig:
    state = _validated_state(snapshot(config), changes)
    if state.name.lower() != config.name.lower():
        await _ensure_name_free(session, state.name, config.id)
    new_values = state.model_dump()
    if all(getattr(config, key) == value for key, value in new_values.items()):
        return config
    for key, value in new_values.items():
        setattr(config, key, value)
    config.version += 1
    config.updated_by = user_id
    session.add(config)
    await record_version(session, config, change, user_id)
    await _commit_unique(session, state.name)
    await session.refresh(config)
    return config


async def delete_config(session: AsyncSession, config: AgentConfig) -> None:
    """Remove a configuration with its history and test runs."""
    await session.delete(config)
    await session.commit()


async def list_versions(session: AsyncSession, config: AgentConfig) -> list[AgentConfigVersion]:
    """History of a configuration, newest first."""
    result = await session.exec(
        select(AgentConfigVersion)
        .where(AgentConfigVersion.agent_config_id == config.id)
        .order_by(col(AgentConfigVersion.version).desc())
    )
    return list(result.all())


async def restore_version(
    session: AsyncSession, config: AgentConfig, version: int, user_id: int | None
) -> AgentConfig:
    """Make an old version current again (recorded as a new version)."""
    result = await session.exec(
        select(AgentConfigVersion).where(
            AgentConfigVersion.agent_config_id == config.id,
            AgentConfigVersion.version == version,
        )
    )
    entry = result.first()
    if entry is None:
        raise NotFoundError(f"Configuration {config.name!r} has no version {version}.")
    return await _apply(session, config, dict(entry.snapshot), "restored", user_id)
