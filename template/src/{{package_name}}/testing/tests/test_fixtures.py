"""The testing utilities themselves: rollback isolation and event capture."""

from __future__ import annotations

from typing import ClassVar

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.events.bus import DomainEvent
from ...modules.users.models import Role, User
from ..events import EventLog


class PingHappened(DomainEvent):
    event_type: ClassVar[str] = "testing.ping"
    value: int


async def test_rollback_session_keeps_nothing(
    rollback_session: AsyncSession, db_session: AsyncSession
) -> None:
    rollback_session.add(
        User(username="ghost", email="ghost@example.com", password_hash="x", role=Role.VIEWER)
    )
    await rollback_session.commit()
    seen_inside = (await rollback_session.exec(select(User))).all()
    seen_outside = (await db_session.exec(select(User))).all()
    assert [u.username for u in seen_inside] == ["ghost"]
    assert seen_outside == []


async def test_event_log_sees_published_events(
    app: object, event_log: EventLog, db_session: AsyncSession
) -> None:
    bus = app.state.event_bus  # type: ignore[attr-defined]
    bus.publish(db_session, PingHappened(value=7), source="test")
    await db_session.commit()
    events = await event_log.wait_for("testing.ping")
    assert events[0].payload == {"value": 7}
    assert await event_log.published("nothing.here") == []
