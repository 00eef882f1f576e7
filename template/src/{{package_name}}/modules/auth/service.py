"""Sign-in: password checks off the event loop, throttling per account and per client.

Failures are counted in `login_throttles` (shared by every instance) under two keys:
- the account and the client address: `LOGIN_MAX_FAILURES` within `LOGIN_WINDOW_S` blocks
  that client from that account for `LOGIN_LOCKOUT_S`; the real user elsewhere still signs in;
- the client address alone: `LOGIN_MAX_FAILURES_PER_CLIENT` across any names blocks that
  client's sign-ins for `LOGIN_LOCKOUT_S`, which stops password spraying.
A blocked caller is refused before any password is hashed (docs/security.md, Sign-in).
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.errors import TooManyRequestsError, UnauthorizedError
from ...core.models import utcnow
from ...core.security import create_access_token, password_work, verify_password
from ...core.settings import Settings
from ..users.models import LoginThrottle, Role, User
from ..users.service import find_user
from .schemas import Token

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["users:manage", "agents:configure", "agents:test", "analytics:read", "read"],
    Role.CONFIGURATOR: ["agents:configure", "agents:test", "analytics:read", "read"],
    Role.VIEWER: ["analytics:read", "read"],
}
_BAD_LOGIN = "Incorrect username or password."


def throttle_keys(login: str, client: str) -> tuple[str, str]:
    """The (account and client, client) keys of a sign-in attempt."""
    account = hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]
    client = client[:100]
    return f"account:{account}:{client}", f"client:{client}"


async def authenticate(
    session: AsyncSession, login: str, password: str, settings: Settings, *, client: str
) -> User:
    """The user for these credentials; 401 on mismatch, 429 while throttled."""
    keys = throttle_keys(login, client)
    await _refuse_if_blocked(session, keys)
    user = await find_user(session, login)
    # End the transaction: the pooled connection is not held while the password is checked.
    await session.commit()
    hashed = user.password_hash if user else None
    matches = await password_work().run(verify_password, password, hashed)
    if not matches or user is None:
        await _record_failure(session, keys, settings)
        raise UnauthorizedError(_BAD_LOGIN)
    if not user.active:
        raise UnauthorizedError("This account is deactivated: ask an admin.")
    await session.exec(delete(LoginThrottle).where(col(LoginThrottle.key) == keys[0]))
    user.last_login = utcnow()
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user


async def _refuse_if_blocked(session: AsyncSession, keys: tuple[str, str]) -> None:
    now = utcnow()
    result = await session.exec(
        select(LoginThrottle.blocked_until).where(
            col(LoginThrottle.key).in_(keys), col(LoginThrottle.blocked_until) > now
        )
    )
    blocked = [until for until in result.all() if until is not None]
    if blocked:
        wait = max(1, math.ceil((max(blocked) - now).total_seconds()))
        raise TooManyRequestsError(
            f"Too many failed sign-ins: try again in {wait} s.", retry_after_s=wait
        )


async def _record_failure(session: AsyncSession, keys: tuple[str, str], settings: Settings) -> None:
    now = utcnow()
    limits = (settings.login_max_failures, settings.login_max_failures_per_client)
    for key, limit in zip(keys, limits, strict=True):
        failures = await _count_failure(session, key, now, settings.login_window_s)
        if failures >= limit:
            await session.exec(
                LoginThrottle.__table__.update()  # type: ignore[attr-defined]
                .where(LoginThrottle.__table__.c.key == key)  # type: ignore[attr-defined]
                .values(
                    failures=0,
                    window_started_at=now,
                    blocked_until=now + timedelta(seconds=settings.login_lockout_s),
                )
            )
    await session.commit()


async def _count_failure(session: AsyncSession, key: str, now: datetime, window_s: int) -> int:
    """Add one failure to `key`'s window (a new window once the last one is over)."""
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    expired = table.c.window_started_at < now - timedelta(seconds=window_s)
    statement = (
        insert(table)
        .values(key=key, failures=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_started_at": case((expired, now), else_=table.c.window_started_at),
            },
        )
        .returning(table.c.failures)
    )
    result = await session.exec(statement)
    return int(result.scalar_one())


def issue_token(user: User, settings: Settings) -> Token:
    """A bearer token for `user`, carrying its token version."""
    assert user.id is not None
    token = create_access_token(
        subject=str(user.id),
        role=user.role,
        secret=settings.jwt_secret(),
        expires_minutes=settings.hiagent_jwt_expire_minutes,
        username=user.username,
        ver=user.token_version,
    )
    return Token(access_token=token, expires_in=settings.hiagent_jwt_expire_minutes * 60)
