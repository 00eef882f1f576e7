"""The event bus: typed events, a transactional outbox, subscribers with retries.

Publishing adds an `events` row to the caller's transaction: nothing is delivered unless that
transaction commits. After the commit this process's dispatcher wakes up, claims due rows with
`FOR UPDATE SKIP LOCKED` (so every instance can share the work), runs each subscribed handler
and marks the event processed, or failed once `EVENT_MAX_ATTEMPTS` attempts have failed. Rows
left behind (a crash, another instance's events) are found by polling. An event nobody
subscribes to is stored as processed at once: it is kept for the record, with nothing to do.

Delivery is at least once. A handler runs in its own transaction together with its delivery
mark (`event_deliveries`), so its database work is applied once even when an event is
delivered again; a handler with outside effects should use `context.event_id` as its
idempotency key.

`emit_soon` is for the hot path (the gateway's event per HiAgent call): the event is written in
the background, batched with others in one statement every `EVENT_EMIT_INTERVAL_MS`, and the
rest is written at shutdown; the caller never waits for the database.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from fastapi import FastAPI
from loguru import logger
from pydantic import BaseModel, ConfigDict
from sqlalchemy import event as orm_event
from sqlalchemy import insert, text
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from ..aio import cancel_and_wait
from ..context import correlation_id_var, current_correlation_id
from ..db import Database
from ..models import utcnow
from .metrics import EVENT_LAG, EVENTS_DROPPED, EVENTS_PROCESSED, EVENTS_PUBLISHED
from .models import Event, EventDelivery, EventStatus
from .settings import EventSettings

_ERROR_MAX_CHARS = 2000

_CLAIM = text(
    """
    UPDATE events
    SET attempts = attempts + 1, available_at = now() + make_interval(secs => :lease_s)
    WHERE id IN (
        SELECT id FROM events
        WHERE status = 'pending' AND available_at <= now() AND event_type = ANY(:event_types)
        ORDER BY available_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, event_type, payload, correlation_id, attempts
    """
)
_PROCESSED = text(
    "UPDATE events SET status = 'processed', processed_at = now(), error = NULL WHERE id = :id"
)
_FAILED = text(
    "UPDATE events SET status = 'failed', processed_at = now(), error = :error WHERE id = :id"
)
_RETRY = text(
    "UPDATE events SET available_at = now() + make_interval(secs => :delay_s), error = :error "
    "WHERE id = :id"
)
_DELIVERED = text("SELECT handler FROM event_deliveries WHERE event_id = :id")
_LAG = text(
    'SELECT COALESCE(EXTRACT(EPOCH FROM now() - min("timestamp")), 0) '
    "FROM events WHERE status = 'pending'"
)


class DomainEvent(BaseModel):
    """Base of every event: subclass it, name it with `event_type`, add typed fields.

    class TicketCreated(DomainEvent):
        event_type: ClassVar[str] = "tickets.created"
        ticket_id: int
    """

    model_config = ConfigDict(frozen=True)

    event_type: ClassVar[str]


E = TypeVar("E", bound=DomainEvent)


@dataclass(frozen=True)
class EventContext:
    """What a handler gets besides the event.

    `session` is the handler's own transaction, committed with its delivery mark when the
    handler returns; `event_id` is stable across redeliveries (an idempotency key).
    """

    event_id: int
    correlation_id: str | None
    attempt: int
    session: AsyncSession
    app: FastAPI


Handler = Callable[[E, EventContext], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[E]):
    """A handler for one event type; list it in a module manifest's `subscriptions`."""

    event: type[E]
    handler: Handler[E]
    name: str


def subscribe(
    event: type[E], *, name: str | None = None
) -> Callable[[Handler[E]], Subscription[E]]:
    """Decorate an async handler of `event`; the result goes in a manifest's `subscriptions`.

    `name` identifies the handler in delivery marks; it defaults to the function's dotted
    path, so give a fixed name before renaming or moving a handler.
    """

    def decorate(handler: Handler[E]) -> Subscription[E]:
        return Subscription(event, handler, name or f"{handler.__module__}.{handler.__qualname__}")

    return decorate


class EventNotifier(Protocol):
    """Wakes dispatchers in other processes (through a message broker) when events commit."""

    async def notify(self) -> None:
        """Tell the other processes that new events are waiting."""

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever another process notifies; runs until cancelled."""


@dataclass(frozen=True)
class _Claimed:
    id: int
    event_type: str
    payload: dict[str, Any]
    correlation_id: str | None
    attempts: int


class EventBus:
    """Publishes events into the outbox and delivers them to the subscribed handlers."""

    def __init__(
        self,
        app: FastAPI,
        database: Database,
        subscriptions: Sequence[Subscription[Any]] = (),
        settings: EventSettings | None = None,
    ) -> None:
        self._app = app
        self._database = database
        self._settings = settings or EventSettings()
        self._handlers: dict[str, list[Subscription[Any]]] = {}
        names = [subscription.name for subscription in subscriptions]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"two event handlers share the name {duplicates[0]!r}: rename one")
        for subscription in subscriptions:
            self._handlers.setdefault(subscription.event.event_type, []).append(subscription)
        self._wake = asyncio.Event()
        self._notifiers: dict[EventNotifier, asyncio.Task[None] | None] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._stopping = False
        # Events from `emit_soon`, as `events` rows not written yet; and the task writing them.
        self._unwritten: deque[dict[str, Any]] = deque()
        self._emitter: asyncio.Task[None] | None = None
        self._emit_failing = False
        self._flushing = False
        # Where a session keeps the event types this bus published in its open transaction.
        self._session_key = f"event_bus.{id(self)}.published"

    # --- publishing ----------------------------------------------------------------------

    def publish(
        self,
        session: AsyncSession,
        event: DomainEvent,
        *,
        source: str = "",
        correlation_id: str | None = None,
    ) -> Event:
        """Add `event` to the session's transaction; it is delivered once that commits.

        The correlation id defaults to the current request's, linking the event to its
        request-log rows.
        """
        row = Event(**self._row_values(event, source, correlation_id))
        session.add(row)
        key = self._session_key
        if key not in session.info:
            orm_event.listen(session.sync_session, "after_commit", self._after_commit)
            orm_event.listen(session.sync_session, "after_soft_rollback", self._after_rollback)
        session.info.setdefault(key, []).append(event.event_type)
        return row

    def _row_values(
        self, event: DomainEvent, source: str, correlation_id: str | None
    ) -> dict[str, Any]:
        # The `events` row of a new event. Nobody subscribes: processed at once (kept as record).
        now = utcnow()
        handled = event.event_type not in self._handlers
        return {
            "event_type": event.event_type,
            "payload": event.model_dump(mode="json"),
            "source": source[:100],
            "correlation_id": correlation_id or current_correlation_id(),
            "status": EventStatus.PROCESSED if handled else EventStatus.PENDING,
            "attempts": 0,
            "timestamp": now,
            "available_at": now,
            "processed_at": now if handled else None,
        }

    async def emit(
        self, event: DomainEvent, *, source: str = "", correlation_id: str | None = None
    ) -> None:
        """Publish `event` in a transaction of its own, committed now."""
        async with self._database.session() as session:
            self.publish(session, event, source=source, correlation_id=correlation_id)
            await session.commit()

    def emit_soon(
        self, event: DomainEvent, *, source: str = "", correlation_id: str | None = None
    ) -> None:
        """Publish `event` off the caller's path, batched with others (see the docstring).

        Until written the event lives in this process: at most `EVENT_EMIT_BUFFER_SIZE` wait
        (beyond, the oldest is dropped and counted in `events_dropped_total`).
        """
        if len(self._unwritten) >= self._settings.emit_buffer_size:
            dropped = self._unwritten.popleft()
            EVENTS_DROPPED.labels(dropped["event_type"]).inc()
        self._unwritten.append(self._row_values(event, source, correlation_id))
        if self._emitter is None and not self._flushing:  # not running (a script): write now
            self._flushing = True
            self._spawn(self._flush_now())

    @property
    def unwritten(self) -> int:
        """Events from `emit_soon` not written yet."""
        return len(self._unwritten)

    async def _flush_now(self) -> None:
        try:
            await self.flush_emitted()
        finally:
            self._flushing = False

    async def _emit_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.emit_interval_ms / 1000)
            await self.flush_emitted()

    async def flush_emitted(self) -> bool:
        """Write what `emit_soon` collected now; False (rows kept) if the database refuses."""
        while self._unwritten:
            batch = [self._unwritten.popleft() for _ in range(min(500, len(self._unwritten)))]
            try:
                async with self._database.engine.begin() as connection:
                    await connection.execute(insert(Event), batch)
            except Exception as exc:
                self._unwritten.extendleft(reversed(batch))
                if not self._emit_failing:
                    logger.warning(f"{len(self._unwritten)} event(s) wait for the database: {exc}")
                self._emit_failing = True
                return False
            if self._emit_failing:
                logger.info("events are written to the database again")
            self._emit_failing = False
            self._announce([row["event_type"] for row in batch])
        return True

    def wake(self) -> None:
        """Make the dispatcher look for due events now instead of at its next poll."""
        self._wake.set()

    def _after_commit(self, session: Session) -> None:
        event_types: list[str] = session.info.get(self._session_key, [])
        self._announce(list(event_types))
        event_types.clear()

    def _announce(self, event_types: list[str]) -> None:
        # Stored: count them, and wake the dispatchers if any has handlers.
        for event_type in event_types:
            EVENTS_PUBLISHED.labels(event_type).inc()
        if any(event_type in self._handlers for event_type in event_types):
            self.wake()
            for notifier in self._notifiers:
                self._spawn(notifier.notify())

    def _after_rollback(self, session: Session, previous_transaction: object) -> None:
        # Rolled back: those events were never stored, so they are neither counted nor announced.
        session.info.get(self._session_key, []).clear()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- cross-process wake-ups ----------------------------------------------------------

    def add_notifier(self, notifier: EventNotifier) -> None:
        """Also wake other processes through `notifier`, and be woken by them."""
        self._notifiers[notifier] = self._listen(notifier) if self._dispatcher else None

    async def remove_notifier(self, notifier: EventNotifier) -> None:
        """Stop using `notifier`."""
        task = self._notifiers.pop(notifier, None)
        if task is not None:
            await cancel_and_wait([task])

    def _listen(self, notifier: EventNotifier) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(notifier.listen(self.wake))

    # --- delivering ----------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[EventBus]:
        """Run the dispatcher of this process while the context is open."""
        self._stopping = False
        self._dispatcher = asyncio.create_task(self._dispatch_forever(), name="event-dispatcher")
        self._emitter = asyncio.create_task(self._emit_forever(), name="event-emitter")
        for notifier in self._notifiers:
            self._notifiers[notifier] = self._listen(notifier)
        try:
            yield self
        finally:
            await self._stop()

    async def _stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._emitter is not None:
            await cancel_and_wait([self._emitter])
            self._emitter = None
        with suppress(TimeoutError):
            async with asyncio.timeout(self._settings.shutdown_timeout_s):
                await self.flush_emitted()
        if self._unwritten:
            logger.error(f"{len(self._unwritten)} event(s) could not be written before shutdown")
        tasks = [task for task in self._notifiers.values() if task is not None]
        tasks += list(self._background)
        if self._dispatcher is not None:
            # Deliveries in progress may finish; anything cut short is redelivered later.
            await asyncio.wait({self._dispatcher}, timeout=self._settings.shutdown_timeout_s)
            tasks.append(self._dispatcher)
        await cancel_and_wait(tasks)
        self._dispatcher = None

    async def _dispatch_forever(self) -> None:
        failing = False
        while not self._stopping:
            self._wake.clear()
            try:
                claimed = await self.dispatch_once()
            except Exception as exc:  # the database is down: keep trying, say it once
                if not failing:
                    logger.warning("event dispatcher cannot reach the database: {}", exc)
                failing = True
                claimed = 0
            else:
                if failing:
                    logger.info("event dispatcher reaches the database again")
                failing = False
            if claimed >= self._settings.batch_size and not self._stopping:
                continue  # more are probably waiting
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_interval_s)

    async def dispatch_once(self) -> int:
        """Claim the due events (a batch) and deliver them; returns how many were claimed."""
        claimed: list[_Claimed] = []
        if self._handlers:
            params = {
                "limit": self._settings.batch_size,
                "lease_s": self._settings.lease_s,
                "event_types": list(self._handlers),
            }
            async with self._database.engine.begin() as connection:
                rows = (await connection.execute(_CLAIM, params)).all()
            claimed = [_Claimed(*row) for row in rows]
        if claimed:
            await asyncio.gather(*(self._deliver(event) for event in claimed))
        async with self._database.engine.connect() as connection:
            EVENT_LAG.set(float((await connection.execute(_LAG)).scalar_one()))
        return len(claimed)

    async def _deliver(self, event: _Claimed) -> None:
        subscriptions = self._handlers[event.event_type]
        async with self._database.engine.connect() as connection:
            done = set((await connection.execute(_DELIVERED, {"id": event.id})).scalars())
        problems = [
            problem
            for subscription in subscriptions
            if subscription.name not in done
            and (problem := await self._run_handler(subscription, event)) is not None
        ]
        await self._settle(event, problems)

    async def _run_handler(self, subscription: Subscription[Any], event: _Claimed) -> str | None:
        token = correlation_id_var.set(event.correlation_id)
        try:
            typed = subscription.event.model_validate(event.payload)
            async with self._database.session() as session:
                context = EventContext(
                    event_id=event.id,
                    correlation_id=event.correlation_id,
                    attempt=event.attempts,
                    session=session,
                    app=self._app,
                )
                await asyncio.wait_for(
                    subscription.handler(typed, context), timeout=self._settings.handler_timeout_s
                )
                session.add(EventDelivery(event_id=event.id, handler=subscription.name))
                await session.commit()
        except Exception as exc:
            logger.opt(exception=exc).warning(
                "event {} ({}) handler {} failed on attempt {}",
                event.id,
                event.event_type,
                subscription.name,
                event.attempts,
            )
            return f"{subscription.name}: {type(exc).__name__}: {exc}"
        finally:
            correlation_id_var.reset(token)
        return None

    async def _settle(self, event: _Claimed, problems: list[str]) -> None:
        error = "; ".join(problems)[:_ERROR_MAX_CHARS]
        params: dict[str, Any] = {"id": event.id, "error": error}
        if not problems:
            statement, params, outcome = _PROCESSED, {"id": event.id}, "processed"
        elif event.attempts >= self._settings.max_attempts:
            statement, outcome = _FAILED, "failed"
            logger.error(
                "event {} ({}) failed {} times and is given up: {}",
                event.id,
                event.event_type,
                event.attempts,
                error,
            )
        else:
            delay = min(
                self._settings.retry_base_delay_s * 2 ** (event.attempts - 1),
                self._settings.retry_max_delay_s,
            )
            statement, outcome = _RETRY, "retrying"
            params["delay_s"] = delay
        async with self._database.engine.begin() as connection:
            await connection.execute(statement, params)
        EVENTS_PROCESSED.labels(event.event_type, outcome).inc()
