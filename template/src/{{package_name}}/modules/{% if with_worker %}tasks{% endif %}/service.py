"""Task storage: submit (idempotently), read, claim, renew, finish, retry, recover, expire.

Every time comparison uses the database clock, so API instances and workers on hosts with
skewed clocks agree on leases and retry times.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.context import current_correlation_id
from ...core.db import Database
from ...core.errors import ConflictError, NotFoundError
from ...core.events import EventBus
from ...core.models import utcnow
from ...worker.queue import QueueUnavailableError, TaskQueue
from ..agents.models import AgentConfig
from ..users.models import Role, User
from .events import TaskFinished
from .models import Task, TaskKind, TaskStatus

WORKER_LOST = "worker_lost"

_RENEW = text(
    "UPDATE tasks SET lease_until = now() + make_interval(secs => :lease_s) "
    "WHERE id = :id AND claim = :claim AND status = 'running'"
)
_PURGE = text(
    "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks "
    "WHERE finished_at < now() - make_interval(secs => :ttl_s) LIMIT :limit)"
)
_RECORD_SENT = text(
    "UPDATE tasks SET message_id = :message_id, sent_at = now() "
    "WHERE id = :id AND status = 'queued'"
)


def request_hash(kind: TaskKind, config_id: int | None, payload: dict[str, Any]) -> str:
    """A fingerprint of what was asked, to tell a retried submission from a different one."""
    canonical = json.dumps([kind.value, config_id, payload], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _now(session: AsyncSession) -> datetime:
    now: datetime = (await session.exec(select(func.now()))).one()
    return now


async def _by_key(session: AsyncSession, user_id: int | None, key: str) -> Task | None:
    query = select(Task).where(Task.created_by == user_id, Task.idempotency_key == key)
    return (await session.exec(query)).first()


def _same_request(task: Task, digest: str) -> Task:
    if task.request_hash != digest:
        raise ConflictError(
            "This Idempotency-Key was already used for a different request: "
            "use a new key for a new task.",
            task_id=task.id,
        )
    return task


async def submit(
    session: AsyncSession,
    *,
    kind: TaskKind,
    config: AgentConfig,
    payload: dict[str, Any],
    user: User,
    idempotency_key: str | None,
) -> tuple[Task, bool]:
    """Store a new queued task; with a known idempotency key, the task it made before.

    Returns the task and whether it is new. Reusing a key for a different request is 409.
    """
    digest = request_hash(kind, config.id, payload)
    if idempotency_key is not None:
        existing = await _by_key(session, user.id, idempotency_key)
        if existing is not None:
            return _same_request(existing, digest), False
    task = Task(
        id=uuid.uuid4().hex,
        kind=kind,
        agent_config_id=config.id,
        target=config.name,
        input=payload,
        request_hash=digest,
        idempotency_key=idempotency_key,
        created_by=user.id,
        requested_by=user.email,
        correlation_id=current_correlation_id() or uuid.uuid4().hex,
        # Hand-off starts now: the monitor re-sends it only if still unsent a lease later.
        sent_at=utcnow(),
    )
    session.add(task)
    try:
        await session.commit()
    except IntegrityError:
        # A concurrent submission with the same key won the race: answer with its task.
        await session.rollback()
        existing = await _by_key(session, user.id, idempotency_key or "")
        if existing is None:
            raise
        return _same_request(existing, digest), False
    return task, True


async def get_for_user(session: AsyncSession, task_id: str, user: User) -> Task:
    """The task, if `user` submitted it (admins see every task); 404 otherwise."""
    task = await session.get(Task, task_id)
    if task is None or (task.created_by != user.id and user.role is not Role.ADMIN):
        raise NotFoundError(
            f"There is no task {task_id!r} of yours: the id is wrong, or the task finished "
            "longer ago than results are kept (TASK_RESULT_TTL_HOURS)."
        )
    return task


async def record_sent(database: Database, task_id: str, message_id: str) -> None:
    """Remember which Redis message runs the task."""
    async with database.engine.begin() as connection:
        await connection.execute(_RECORD_SENT, {"id": task_id, "message_id": message_id})


async def mark_inline(database: Database, task_id: str) -> None:
    """Note that the API processes this task itself (Redis was unavailable)."""
    async with database.session() as session:
        task = await session.get(Task, task_id)
        if task is not None:
            task.inline = True
            await session.commit()


async def claim(database: Database, task_id: str, lease_s: float) -> Task | None:
    """Take the task for one run, or None when it is finished, not due, or running elsewhere."""
    async with database.session() as session:
        query = select(Task).where(Task.id == task_id).with_for_update()
        task = (await session.exec(query)).first()
        if task is None:
            return None
        now = await _now(session)
        queued_and_due = task.status is TaskStatus.QUEUED and task.available_at <= now
        lease_over = task.status is TaskStatus.RUNNING and (
            task.lease_until is None or task.lease_until < now
        )
        if not (queued_and_due or lease_over):
            return None
        task.status = TaskStatus.RUNNING
        task.claim = uuid.uuid4().hex
        task.lease_until = now + timedelta(seconds=lease_s)
        task.attempts += 1
        task.started_at = task.started_at or now
        await session.commit()
        return task


async def renew(database: Database, task: Task, lease_s: float) -> bool:
    """Extend the lease of a run; False when the run has lost its claim."""
    async with database.engine.begin() as connection:
        result = await connection.execute(
            _RENEW, {"id": task.id, "claim": task.claim, "lease_s": lease_s}
        )
    return result.rowcount == 1


async def _claimed(session: AsyncSession, task: Task) -> Task | None:
    query = (
        select(Task)
        .where(Task.id == task.id, Task.claim == task.claim, Task.status == TaskStatus.RUNNING)
        .with_for_update()
    )
    return (await session.exec(query)).first()


def _finish(
    task: Task,
    bus: EventBus,
    session: AsyncSession,
    now: datetime,
    *,
    result: dict[str, Any] | None,
    error_type: str | None,
    error: str | None,
) -> None:
    task.status = TaskStatus.FAILED if error_type else TaskStatus.SUCCEEDED
    task.result, task.error_type, task.error = result, error_type, error
    task.finished_at, task.claim, task.lease_until = now, None, None
    bus.publish(
        session,
        TaskFinished(
            task_id=task.id,
            kind=task.kind.value,
            target=task.target,
            status=task.status.value,
            error_type=error_type,
        ),
        source="tasks",
        correlation_id=task.correlation_id,
    )


async def finish(
    database: Database,
    bus: EventBus,
    task: Task,
    *,
    result: dict[str, Any] | None = None,
    error_type: str | None = None,
    error: str | None = None,
) -> Task | None:
    """Write the one result (or failure) of a run that still holds its claim.

    Returns the finished task, or None when the claim was lost (another run owns the task;
    this run's outcome is dropped, so a task never has two results).
    """
    async with database.session() as session:
        current = await _claimed(session, task)
        if current is None:
            return None
        _finish(
            current,
            bus,
            session,
            await _now(session),
            result=result,
            error_type=error_type,
            error=error,
        )
        await session.commit()
        return current


async def retry_later(
    database: Database, task: Task, *, delay_s: float, error_type: str, error: str
) -> Task | None:
    """Put a run that failed in a retryable way back in the queue, due after `delay_s`."""
    async with database.session() as session:
        current = await _claimed(session, task)
        if current is None:
            return None
        now = await _now(session)
        current.status, current.available_at = TaskStatus.QUEUED, now + timedelta(seconds=delay_s)
        current.error_type, current.error = error_type, error
        current.claim = current.lease_until = current.message_id = current.sent_at = None
        await session.commit()
        return current


async def recover_abandoned(
    database: Database, bus: EventBus, *, max_attempts: int, limit: int = 100
) -> list[Task]:
    """Queue again the runs whose lease ran out (their worker died); fail those out of attempts.

    Returns the tasks that failed for good.
    """
    failed: list[Task] = []
    async with database.session() as session:
        now = await _now(session)
        query = (
            select(Task)
            .where(Task.status == TaskStatus.RUNNING, col(Task.lease_until) < now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for task in (await session.exec(query)).all():
            message = f"the worker running attempt {task.attempts} stopped before finishing"
            if task.attempts >= max_attempts:
                _finish(task, bus, session, now, result=None, error_type=WORKER_LOST, error=message)
                failed.append(task)
                continue
            task.status, task.available_at = TaskStatus.QUEUED, now
            task.error_type, task.error = WORKER_LOST, f"{message}; queued again"
            task.claim = task.lease_until = task.message_id = task.sent_at = None
        await session.commit()
    return failed


async def send_due(
    database: Database, queue: TaskQueue, *, recheck_s: float, limit: int = 100
) -> int:
    """Send the due tasks that have no message in Redis (never sent, lost, or retry time).

    A task whose message is still in Redis is left alone. Returns how many were sent.
    """
    sent = 0
    async with database.session() as session:
        now = await _now(session)
        query = (
            select(Task)
            .where(
                Task.status == TaskStatus.QUEUED,
                col(Task.available_at) <= now,
                or_(
                    col(Task.sent_at).is_(None),
                    col(Task.sent_at) < now - timedelta(seconds=recheck_s),
                ),
            )
            .order_by(col(Task.available_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for task in (await session.exec(query)).all():
            if task.message_id is not None and await queue.holds(task.message_id):
                task.sent_at = now
                continue
            try:
                task.message_id = await queue.enqueue(task.id)
            except QueueUnavailableError:
                break
            task.sent_at = now
            sent += 1
        await session.commit()
    return sent


async def purge_expired(database: Database, *, ttl_hours: float, limit: int = 1000) -> int:
    """Delete finished tasks older than the result retention; returns how many."""
    async with database.engine.begin() as connection:
        result = await connection.execute(_PURGE, {"ttl_s": ttl_hours * 3600, "limit": limit})
    return result.rowcount
