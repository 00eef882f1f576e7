"""Password hashing (argon2) and JWT access tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

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
