"""Password hashing (argon2) and JWT access tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from .errors import ServiceUnavailableError
from .project import PROJECT_SLUG

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the username is unknown, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("timing-equaliser")
JWT_ALGORITHM = "HS256"
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """An argon2 hash of `password`."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; spends the same time when there is no hash."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a corrupt or foreign hash is simply a failed login
        return False


_T = TypeVar("_T")


class PasswordWork:
    """Runs argon2 off the event loop, in its own bounded threads.

    A hash costs about 0.1-0.2 s of CPU. On the event loop it would stall every request; in the
    shared threadpool a flood of sign-ins would starve it. Here at most `threads` hashes run at
    once and at most `queue` more wait; beyond that the caller gets 503 with Retry-After
    (docs/security.md, Sign-in).
    """

    def __init__(self, threads: int, queue: int) -> None:
        self.capacity = threads + queue
        self.pending = 0
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="password")

    async def run(self, function: Callable[..., _T], *args: Any) -> _T:
        """`function(*args)` in a password thread; 503 when too many are already waiting."""
        if self.pending >= self.capacity:
            raise ServiceUnavailableError(
                "Too many sign-ins are being checked right now: try again in a second.",
                retry_after_s=1,
            )
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        finally:
            self.pending -= 1


_password_work: list[PasswordWork] = []


def configure_password_work(threads: int, queue: int) -> None:
    """Size the process's password threads (settings PASSWORD_HASH_THREADS and _QUEUE)."""
    _password_work[:] = [PasswordWork(threads, queue)]


def password_work() -> PasswordWork:
    """The process's password threads; one thread and 16 waiting until configured."""
    if not _password_work:
        configure_password_work(1, 16)
    return _password_work[0]


async def hash_password_off_loop(password: str) -> str:
    """`hash_password` in the password threads, so the event loop keeps serving."""
    return await password_work().run(hash_password, password)


def create_access_token(
    *, subject: str, role: str, secret: str, expires_minutes: int, **claims: Any
) -> str:
    """A signed JWT carrying the user id (`sub`) and role."""
    now = datetime.now(UTC)
    payload = {
        "sub": subject,
        "role": role,
        "iss": PROJECT_SLUG,
        "iat": now,
        "exp": now + timedelta(minutes=expires_minutes),
        **claims,
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, secret: str) -> dict[str, Any]:
    """Claims of a valid token; raises `jwt.InvalidTokenError` otherwise."""
    claims: dict[str, Any] = jwt.decode(
        token,
        secret,
        algorithms=[JWT_ALGORITHM],
        issuer=PROJECT_SLUG,
        options={"require": ["sub", "exp", "iat"]},
    )
    return claims
