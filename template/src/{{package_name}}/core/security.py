"""Password hashing (argon2) and JWT access tokens."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import jwt
from jwt import PyJWK
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from .errors import ServiceUnavailableError
from .project import PROJECT_SLUG

_hasher = PasswordHash((Argon2Hasher(),))
JWT_ALGORITHM = "HS256"
MIN_PASSWORD_LENGTH = 8
# Added to a password thread's nice value: below the event loop's priority.
PASSWORD_THREAD_NICENESS = 10


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths take the same time.

    Made on first use, not at import: a hash is 0.1-0.2 s of CPU at every start otherwise.
    """
    return _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    """An argon2 hash of `password`."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; spends the same time when there is no hash."""
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
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
        self._executor = ThreadPoolExecutor(
            threads, thread_name_prefix="password", initializer=_yield_cpu_to_requests
        )
        # Ready before the first sign-in of an unknown user, without delaying the start.
        self._executor.submit(_dummy_hash)

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


def _yield_cpu_to_requests() -> None:
    """Lower this password thread's CPU priority (Linux: a thread has its own nice value).

    When cores are busy, the scheduler then runs the event loop's thread first: reads keep
    their latency during a burst of sign-ins, and the sign-ins take longer (docs/performance.md).
    """
    if sys.platform != "linux":  # elsewhere the id below is not a thread's, so leave it alone
        return
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):
        # Relative to the process's own nice value, which the thread starts with.
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + PASSWORD_THREAD_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness))


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
    return jwt.encode(payload, _signing_key(secret), algorithm=JWT_ALGORITHM)


@functools.lru_cache(maxsize=4)
def _signing_key(secret: str) -> PyJWK:
    """The secret as a key checked once: PyJWT re-checks a plain secret on every token
    (is it an asymmetric key in disguise?), which cost more than the signature itself."""
    k = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
    return PyJWK({"kty": "oct", "k": k}, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, secret: str) -> dict[str, Any]:
    """Claims of a valid token; raises `jwt.InvalidTokenError` otherwise."""
    claims: dict[str, Any] = jwt.decode(
        token,
        _signing_key(secret),
        algorithms=[JWT_ALGORITHM],
        issuer=PROJECT_SLUG,
        options={"require": ["sub", "exp", "iat"]},
    )
    return claims
