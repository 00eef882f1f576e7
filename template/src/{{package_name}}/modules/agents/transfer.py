"""Configurations in and out as a whole: export to a file, import a file, seed HIAGENT_AGENTS.

Every way in is planned completely first (each entry validated against what is stored), and
only a plan without a single problem is written, in one transaction, each change recorded as a
version. See docs/agents.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.errors import ConflictError, InvalidRequestError
from .models import AgentConfig, AgentConfigVersion
from .schemas import (
    AgentConfigCreate,
    AgentConfigsFile,
    ChangeAction,
    ConfigChange,
    ConfigEntry,
    validation_messages,
)
from .service import record_version, snapshot

# Version labels of changes made here (the dashboard's history names them).
IMPORTED = "imported"
SEEDED = "seeded"
# One writer of configurations in bulk at a time, across processes (an advisory lock key).
_BULK_LOCK = 0x61676E74  # "agnt"


class ConfigFileProblems(InvalidRequestError):
    """The file (or HIAGENT_AGENTS) cannot be applied; `problems` says what to fix in each entry.

    Nothing was written.
    """

    def __init__(self, problems: list[str]) -> None:
        listed = "; ".join(problems)
        super().__init__(
            f"Nothing was changed: {len(problems)} problem(s) to fix first: {listed}",
            problems=problems,
        )
        self.problems = problems


@dataclass
class _Step:
    change: ConfigChange
    config: AgentConfig | None
    state: AgentConfigCreate | None


def export_file(configs: Sequence[AgentConfig], *, with_secrets: bool) -> AgentConfigsFile:
    """The configurations as a file, sorted by name; app keys only `with_secrets`."""
    entries = []
    for config in sorted(configs, key=lambda c: c.name.lower()):
        values = snapshot(config)
        if not with_secrets:
            values.pop("app_key")
        entries.append(ConfigEntry.model_validate(values))
    return AgentConfigsFile(app_keys="included" if with_secrets else "omitted", configs=entries)


# The order of a file's fields: what a reviewer reads first, first.
FILE_FIELDS = (
    "name",
    "config_type",
    "description",
    "enabled",
    "app_key",
    "workspace_id",
    "workflow_id",
    "dataset_ids",
    "tool_id",
    "variables",
    "max_concurrency",
    "first_token_timeout_s",
    "total_timeout_s",
)


def render_file(document: AgentConfigsFile) -> str:
    """The file's text: a stable order (configurations by name, fields as in FILE_FIELDS,
    variables sorted), one field per line, so two exports diff line by line."""
    configs = []
    for entry in document.configs:
        values = entry.model_dump(mode="json", exclude_unset=True)
        if isinstance(values.get("variables"), dict):
            values["variables"] = dict(sorted(values["variables"].items()))
        configs.append({key: values[key] for key in FILE_FIELDS if key in values})
    body: dict[str, Any] = {
        "kind": document.kind,
        "version": document.version,
        "app_keys": document.app_keys,
        "configs": configs,
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


async def all_configs(session: AsyncSession) -> list[AgentConfig]:
    """Every configuration, by name."""
    result = await session.exec(select(AgentConfig).order_by(col(AgentConfig.name)))
    return list(result.all())


async def _last_change(session: AsyncSession, config: AgentConfig) -> str | None:
    result = await session.exec(
        select(AgentConfigVersion.change)
        .where(AgentConfigVersion.agent_config_id == config.id)
        .order_by(col(AgentConfigVersion.version).desc())
        .limit(1)
    )
    return result.first()


async def plan(
    session: AsyncSession,
    entries: Sequence[ConfigEntry],
    *,
    keep_edited: bool = False,
) -> list[_Step]:
    """What applying `entries` would do to each configuration; raises listing every problem.

    `keep_edited` (seeding): a configuration whose last change was not made by seeding was
    edited by a person since, and is kept as it is.
    """
    existing = {config.name.lower(): config for config in await all_configs(session)}
    problems: list[str] = []
    seen: set[str] = set()
    steps: list[_Step] = []
    for entry in entries:
        key = entry.name.lower()
        if key in seen:
            problems.append(f"{entry.name!r} appears twice (names ignore case)")
            continue
        seen.add(key)
        changes = entry.model_dump(exclude_unset=True, exclude={"name"})
        config = existing.get(key)
        if config is None:
            if "app_key" not in changes:
                problems.append(
                    f"{entry.name!r} does not exist here yet and has no app key: add "
                    '"app_key" to its entry (export with --with-secrets), or create it first'
                )
                continue
            try:
                state = AgentConfigCreate.model_validate({"name": entry.name, **changes})
            except ValidationError as exc:
                problems.append(f"{entry.name!r}: {validation_messages(exc)}")
                continue
            fields = [name for name in FILE_FIELDS if name in changes or name == "name"]
            steps.append(
                _Step(
                    ConfigChange(name=state.name, action=ChangeAction.CREATE, fields=fields),
                    None,
                    state,
                )
            )
            continue
        current = snapshot(config)
        try:
            state = AgentConfigCreate.model_validate({**current, **changes, "name": config.name})
        except ValidationError as exc:
            problems.append(f"{entry.name!r}: {validation_messages(exc)}")
            continue
        wanted = state.model_dump(mode="json")
        fields = [name for name in FILE_FIELDS if wanted[name] != current[name]]
        if not fields:
            steps.append(
                _Step(ConfigChange(name=config.name, action=ChangeAction.UNCHANGED), config, None)
            )
        elif keep_edited and await _last_change(session, config) != SEEDED:
            note = "changed by a person since it was set from HIAGENT_AGENTS: kept as it is"
            steps.append(
                _Step(
                    ConfigChange(
                        name=config.name, action=ChangeAction.KEPT, fields=fields, note=note
                    ),
                    config,
                    None,
                )
            )
        else:
            steps.append(
                _Step(
                    ConfigChange(name=config.name, action=ChangeAction.UPDATE, fields=fields),
                    config,
                    state,
                )
            )
    if problems:
        raise ConfigFileProblems(problems)
    return steps


async def apply(
    session: AsyncSession,
    entries: Sequence[ConfigEntry],
    *,
    change: str,
    user_id: int | None,
    dry_run: bool = False,
    keep_edited: bool = False,
) -> list[ConfigChange]:
    """Plan `entries` and, unless `dry_run`, write the whole plan in one transaction."""
    await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_BULK_LOCK))  # type: ignore[call-overload]
    steps = await plan(session, entries, keep_edited=keep_edited)
    if dry_run:
        await session.rollback()
        return [step.change for step in steps]
    for step in steps:
        if step.state is None:
            continue
        config = step.config
        if config is None:
            config = AgentConfig(**step.state.model_dump(), created_by=user_id)
        else:
            for key, value in step.state.model_dump().items():
                setattr(config, key, value)
            config.version += 1
        config.updated_by = user_id
        session.add(config)
        await session.flush()
        await record_version(session, config, change, user_id)
    try:
        await session.commit()
    except IntegrityError as exc:  # a name taken meanwhile by a request outside the lock
        await session.rollback()
        raise ConflictError(
            "Nothing was changed: a configuration was added at the same moment; try again."
        ) from exc
    return [step.change for step in steps]
