"""Sign-in with throttling of repeated failures (stored per user, so it holds across instances)."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.errors import TooManyRequestsError, UnauthorizedError
from ...core.models import utcnow
from ...core.security import create_access_token, verify_password
from ...core.settings import Settings
from ..users.models import Role, User
from ..users.service import find_user
from .schemas import Token

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["users:manage", "agents:configure", "agents:test", "analytics:read", "read"],
    Role.CONFIGURATOR: ["agents:configure", "agents:test", "analytics:read", "read"],
    Role.VIEWER: ["analytics:read", "read"],
}
_BAD_LOGIN = "Incorrect username or password."


async def authenticate(
    session: AsyncSession, login: str, password: str, settings: Settings
) -> User:
    """The user for these credentials; 401 on mismatch, 429 while locked out."""
    user = await find_user(session, login)
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        wait = math.ceil((user.locked_until - now).total_seconds())
        raise TooManyRequestsError(
            f"Too many failed sign-ins: try again in {wait} s.", retry_after_s=wait
        )
    if not verify_password(password, user.password_hash if user else None) or user is None:
        if user is not None:
            await _record_failure(session, user, settings)
        raise UnauthorizedError(_BAD_LOGIN)
    if not user.active:
        raise UnauthorizedError("This account is deactivated: ask an admin.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login = now
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user


async def _record_failure(session: AsyncSession, user: User, settings: Settings) -> None:
    user.failed_logins += 1
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = utcnow() + timedelta(seconds=settings.login_lockout_s)
        user.failed_logins = 0
    session.add(user)
    await session.commit()


def issue_token(user: User, settings: Settings) -> Token:
    """A bearer token for `user`."""
    assert user.id is not None
    token = create_access_token(
        subject=str(user.id),
        role=user.role,
        secret=settings.jwt_secret(),
        expires_minutes=settings.hiagent_jwt_expire_minutes,
        username=user.username,
    )
    return Token(access_token=token, expires_in=settings.hiagent_jwt_expire_minutes * 60)
