"""The event bus on real PostgreSQL: outbox, delivery after commit, retries, idempotency."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...context import correlation_id_var
from ...db import Database
from ...models import utcnow
from ...settings import Settings
from ..bus import DomainEvent, EventBus, EventContext, subscribe
from ..models import Event, EventStatus
from ..settings import EventSettings

FAST = EventSettings(
    _env_file=None,
    poll_interval_s=0.05,
    retry_base_delay_s=0,
    max_attempts=3,
    lease_s=30,
    shutdown_timeout_s=1,
)


class OrderPlaced(DomainEvent):
    event_type: ClassVar[str] = "test.order_placed"
    order_id: int


class OrderShipped(DomainEvent):
    event_type: ClassVar[str] = "test.order_shipped"
    order_id: int


class Nobody(DomainEvent):
    event_type: ClassVar[str] = "test.nobody_listens"


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def events_of(session: AsyncSession, event_type: str) -> list[Event]:
    session.expire_all()
    return list((await session.exec(select(Event).where(Event.event_type == event_type))).all())


async def test_a_handler_gets_the_typed_event_once_the_transaction_commits(
    app: FastAPI, db_session: AsyncSession
) -> None:
    received: list[tuple[OrderPlaced, str | None]] = []

    @subscribe(OrderPlaced)
    async def record(event: OrderPlaced, context: EventContext) -> None:
        received.append((event, context.correlation_id))

    bus = EventBus(app, app.state.database, [record], FAST)
    async with bus.running():
        token = correlation_id_var.set("req-42")
        try:
            bus.publish(db_session, OrderPlaced(order_id=7), source="shop")
        finally:
            correlation_id_var.reset(token)
        await asyncio.sleep(0.2)
        assert received == []  # not committed yet: nothing is delivered
        await db_session.commit()
        await wait_until(lambda: len(received) == 1)

    assert received == [(OrderPlaced(order_id=7), "req-42")]
    [row] = await events_of(db_session, OrderPlaced.event_type)
    assert row.status == EventStatus.PROCESSED
    assert row.source == "shop"
    assert row.correlation_id == "req-42"
    assert row.processed_at is not None


async def test_a_rolled_back_event_is_neither_stored_nor_counted(
    app: FastAPI, db_session: AsyncSession
) -> None:
    labels = {"event_type": OrderPlaced.event_type}
    before = REGISTRY.get_sample_value("events_published_total", labels) or 0

    @subscribe(OrderPlaced)
    async def record(event: OrderPlaced, context: EventContext) -> None:
        raise AssertionError("must not be called")

    bus = EventBus(app, app.state.database, [record], FAST)
    bus.publish(db_session, OrderPlaced(order_id=1))
    await db_session.rollback()
    bus.publish(db_session, OrderPlaced(order_id=2))
    await db_session.commit()

    rows = await events_of(db_session, OrderPlaced.event_type)
    assert [row.payload for row in rows] == [{"order_id": 2}]
    assert REGISTRY.get_sample_value("events_published_total", labels) == before + 1


async def test_a_failing_handler_is_retried_then_the_event_is_marked_failed_with_the_reason(
    app: FastAPI, db_session: AsyncSession
) -> None:
    calls: list[int] = []

    @subscribe(OrderPlaced, name="billing.charge")
    async def charge(event: OrderPlaced, context: EventContext) -> None:
        calls.append(context.attempt)
        raise RuntimeError("card declined")

    bus = EventBus(app, app.state.database, [charge], FAST)
    async with bus.running():
        await bus.emit(OrderPlaced(order_id=3))
        await wait_until(lambda: len(calls) == 3)
        await asyncio.sleep(0.1)

    assert calls == [1, 2, 3]
    [row] = await events_of(db_session, OrderPlaced.event_type)
    assert row.status == EventStatus.FAILED
    assert row.attempts == 3
    assert row.error == "billing.charge: RuntimeError: card declined"


async def test_a_handler_that_succeeded_is_not_run_again_when_another_one_is_retried(
    app: FastAPI, db_session: AsyncSession
) -> None:
    runs: Counter[str] = Counter()

    @subscribe(OrderPlaced, name="mail")
    async def mail(event: OrderPlaced, context: EventContext) -> None:
        runs["mail"] += 1

    @subscribe(OrderPlaced, name="flaky")
    async def flaky(event: OrderPlaced, context: EventContext) -> None:
        runs["flaky"] += 1
        if context.attempt == 1:
            raise ConnectionError("partner API down")

    bus = EventBus(app, app.state.database, [mail, flaky], FAST)
    async with bus.running():
        await bus.emit(OrderPlaced(order_id=4))
        await wait_until(lambda: runs["flaky"] == 2)
        await asyncio.sleep(0.1)

    assert runs == {"mail": 1, "flaky": 2}
    [row] = await events_of(db_session, OrderPlaced.event_type)
    assert row.status == EventStatus.PROCESSED
    assert row.attempts == 2


async def test_a_handler_publishes_follow_up_events_in_its_own_transaction(
    app: FastAPI, db_session: AsyncSession
) -> None:
    shipped: list[int] = []
    bus: EventBus

    @subscribe(OrderPlaced)
    async def ship(event: OrderPlaced, context: EventContext) -> None:
        bus.publish(context.session, OrderShipped(order_id=event.order_id))

    @subscribe(OrderShipped)
    async def notify(event: OrderShipped, context: EventContext) -> None:
        shipped.append(event.order_id)

    bus = EventBus(app, app.state.database, [ship, notify], FAST)
    async with bus.running():
        token = correlation_id_var.set("req-ship")
        try:
            await bus.emit(OrderPlaced(order_id=5))
        finally:
            correlation_id_var.reset(token)
        await wait_until(lambda: shipped == [5])

    [follow_up] = await events_of(db_session, OrderShipped.event_type)
    assert follow_up.correlation_id == "req-ship"  # the chain stays linked to its request


async def test_two_dispatchers_share_the_events_and_each_is_handled_once(
    app: FastAPI, db_session: AsyncSession
) -> None:
    handled: Counter[int] = Counter()

    @subscribe(OrderPlaced, name="count")
    async def count(event: OrderPlaced, context: EventContext) -> None:
        handled[event.order_id] += 1
        await asyncio.sleep(0.005)

    first = EventBus(app, app.state.database, [count], FAST)
    second = EventBus(app, app.state.database, [count], FAST)
    for order_id in range(40):
        first.publish(db_session, OrderPlaced(order_id=order_id))
    await db_session.commit()  # stored while no dispatcher runs: found by polling
    async with first.running(), second.running():
        await wait_until(lambda: len(handled) == 40)
        await asyncio.sleep(0.1)

    assert set(handled.values()) == {1}
    rows = await events_of(db_session, OrderPlaced.event_type)
    assert {row.status for row in rows} == {EventStatus.PROCESSED}


async def test_an_event_without_subscribers_is_kept_as_processed(
    app: FastAPI, db_session: AsyncSession
) -> None:
    bus = EventBus(app, app.state.database, [], FAST)
    await bus.emit(Nobody(), source="audit")
    [row] = await events_of(db_session, Nobody.event_type)
    assert row.status == EventStatus.PROCESSED


async def test_handler_names_must_be_unique(app: FastAPI) -> None:
    @subscribe(OrderPlaced, name="same")
    async def one(event: OrderPlaced, context: EventContext) -> None: ...

    @subscribe(OrderShipped, name="same")
    async def two(event: OrderShipped, context: EventContext) -> None: ...

    with pytest.raises(ValueError, match="same"):
        EventBus(app, app.state.database, [one, two], FAST)


async def test_lag_reports_the_age_of_the_oldest_waiting_event(
    app: FastAPI, db_session: AsyncSession
) -> None:
    bus = EventBus(app, app.state.database, [], FAST)
    waiting = Event(
        event_type=OrderPlaced.event_type,
        timestamp=utcnow() - timedelta(minutes=2),
        status=EventStatus.PENDING,
    )
    db_session.add(waiting)
    await db_session.commit()
    await bus.dispatch_once()
    assert (REGISTRY.get_sample_value("event_processing_lag_seconds") or 0) >= 120

    waiting.status = EventStatus.PROCESSED
    await db_session.commit()
    await bus.dispatch_once()
    assert REGISTRY.get_sample_value("event_processing_lag_seconds") == 0


async def test_events_emitted_soon_are_written_together_and_delivered(
    app: FastAPI, db_session: AsyncSession
) -> None:
    handled: list[int] = []

    @subscribe(OrderPlaced, name="test.count_orders")
    async def count(event: OrderPlaced, context: EventContext) -> None:
        handled.append(event.order_id)

    bus = EventBus(app, app.state.database, [count], FAST)
    async with bus.running():
        token = correlation_id_var.set("corr-soon")
        try:
            for order_id in range(5):
                bus.emit_soon(OrderPlaced(order_id=order_id), source="shop")
            bus.emit_soon(Nobody())
        finally:
            correlation_id_var.reset(token)
        assert await events_of(db_session, OrderPlaced.event_type) == []  # not on the caller's path
        await wait_until(lambda: sorted(handled) == [0, 1, 2, 3, 4])
    rows = await events_of(db_session, OrderPlaced.event_type)
    assert {(row.correlation_id, row.source, row.status) for row in rows} == {
        ("corr-soon", "shop", EventStatus.PROCESSED)
    }
    [kept] = await events_of(db_session, Nobody.event_type)
    assert kept.status == EventStatus.PROCESSED


async def test_events_emitted_soon_are_written_at_shutdown(
    app: FastAPI, db_session: AsyncSession
) -> None:
    slow = FAST.model_copy(update={"emit_interval_ms": 60_000})
    bus = EventBus(app, app.state.database, [], slow)
    async with bus.running():
        bus.emit_soon(Nobody())
        await asyncio.sleep(0.1)
        assert await events_of(db_session, Nobody.event_type) == []
    assert len(await events_of(db_session, Nobody.event_type)) == 1


async def test_while_the_database_is_away_emitted_events_wait_in_a_bounded_buffer(
    app: FastAPI, db_session: AsyncSession, test_settings: Settings
) -> None:
    away = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none", test_settings)
    small = FAST.model_copy(update={"emit_buffer_size": 3, "emit_interval_ms": 60_000})
    bus = EventBus(app, away, [], small)
    dropped_before = (
        REGISTRY.get_sample_value("events_dropped_total", {"event_type": OrderPlaced.event_type})
        or 0
    )
    try:
        async with bus.running():
            for order_id in range(5):
                bus.emit_soon(OrderPlaced(order_id=order_id))
            assert not await bus.flush_emitted()
            assert bus.unwritten == 3  # kept for the next try
    finally:
        await away.dispose()
    dropped = REGISTRY.get_sample_value(
        "events_dropped_total", {"event_type": OrderPlaced.event_type}
    )
    assert dropped == dropped_before + 2  # the two oldest
    assert await events_of(db_session, OrderPlaced.event_type) == []
