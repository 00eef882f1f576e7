"""Code calling by name: one read per configuration at a time, and none on the call's path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel.ext.asyncio.session import AsyncSession

from ....core.errors import NotFoundError
from ...agents.models import AgentConfig
from ..service import Gateway

CACHE_S = 0.3


@pytest.fixture
def short_cache(gateway: Gateway) -> Iterator[None]:
    settings = gateway.client.settings
    gateway.client.settings = settings.model_copy(update={"config_cache_s": CACHE_S})
    yield
    gateway.client.settings = settings


@pytest.fixture
def config_reads(gateway: Gateway) -> Iterator[list[str]]:
    """The gateway's reads of configurations by name while the test runs."""
    reads: list[str] = []

    def count(*args: Any) -> None:
        statement: str = args[2]
        if "FROM agent_configs" in statement and "lower(agent_configs.name)" in statement:
            reads.append(statement)

    engine = gateway.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    yield reads
    event.remove(engine, "before_cursor_execute", count)


async def add(db_session: AsyncSession, name: str, **fields: Any) -> AgentConfig:
    config = AgentConfig(name=name, app_key=f"key-{name}", **fields)
    db_session.add(config)
    await db_session.commit()
    await db_session.refresh(config)
    return config


@pytest.mark.usefixtures("short_cache")
async def test_callers_at_the_same_moment_share_one_read(
    gateway: Gateway, db_session: AsyncSession, config_reads: list[str]
) -> None:
    await add(db_session, "support-bot")
    found = await asyncio.gather(*(gateway.find("Support-Bot") for _ in range(16)))
    assert {config.name for config in found} == {"support-bot"}
    assert len(config_reads) == 1
    await gateway.find("support-bot")  # remembered
    assert len(config_reads) == 1


@pytest.mark.usefixtures("short_cache")
async def test_a_change_is_read_in_the_background_once_the_cache_time_passed(
    gateway: Gateway, db_session: AsyncSession, config_reads: list[str]
) -> None:
    config = await add(db_session, "support-bot")
    assert (await gateway.find("support-bot")).enabled
    config.enabled = False
    db_session.add(config)
    await db_session.commit()
    assert (await gateway.find("support-bot")).enabled  # within the cache time
    await asyncio.sleep(CACHE_S)
    stale = await asyncio.gather(*(gateway.find("support-bot") for _ in range(8)))
    assert all(c.enabled for c in stale)  # served at once, while one read runs behind
    await asyncio.sleep(0.1)
    assert not (await gateway.find("support-bot")).enabled
    assert len(config_reads) == 2


@pytest.mark.usefixtures("short_cache")
async def test_unused_for_long_it_is_read_before_answering(
    gateway: Gateway, db_session: AsyncSession
) -> None:
    config = await add(db_session, "support-bot")
    await gateway.find("support-bot")
    await db_session.delete(config)
    await db_session.commit()
    await asyncio.sleep(2 * CACHE_S)
    with pytest.raises(NotFoundError, match="support-bot"):
        await gateway.find("support-bot")


@pytest.mark.usefixtures("short_cache")
async def test_a_configuration_deleted_meanwhile_is_not_found_after_the_background_read(
    gateway: Gateway, db_session: AsyncSession
) -> None:
    config = await add(db_session, "support-bot")
    await gateway.find("support-bot")
    await db_session.delete(config)
    await db_session.commit()
    await asyncio.sleep(CACHE_S)
    await gateway.find("support-bot")  # the remembered one, one last time
    await asyncio.sleep(0.1)
    with pytest.raises(NotFoundError):
        await gateway.find("support-bot")
