"""Dependencies that authenticate the caller and enforce roles on every route.

Use the aliases in signatures: `user: CurrentUser`, or router-level
`dependencies=[Depends(require_roles(Role.ADMIN))]`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from ...core.context import user_var
from ...core.db import SessionDep
from ...core.errors import ForbiddenError, UnauthorizedError
from ...core.security import decode_access_token
from ...core.state import SettingsDep
from ..users.models import Role, User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


async def current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    """The signed-in, active user; 401 otherwise. Role changes apply at once."""
    if not token:
        raise UnauthorizedError()
    try:
        payload = decode_access_token(token, settings.jwt_secret())
        user_id = int(payload["sub"])
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise UnauthorizedError("Your session is invalid or has expired: sign in again.") from exc
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise UnauthorizedError("This account is not active.")
    if payload.get("ver", 0) != user.token_version:
        # The password changed (or the account was deactivated) after this token was issued.
        raise UnauthorizedError("Your session has ended: sign in again.")
    request.state.user = user.email
    user_var.set(user.email)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency admitting only `roles`; 403 with the reason for anyone else."""
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = " or ".join(sorted(r.value for r in allowed))
            raise ForbiddenError(
                f"Your role ({user.role}) cannot do this; it needs {names}.",
                required_roles=sorted(r.value for r in allowed),
            )
        return user

    dependency.allowed_roles = allowed  # type: ignore[attr-defined]
    return dependency


require_signed_in = require_roles(Role.ADMIN, Role.CONFIGURATOR, Role.VIEWER)
require_configurator = require_roles(Role.ADMIN, Role.CONFIGURATOR)
require_admin = require_roles(Role.ADMIN)

AnyRoleUser = Annotated[User, Depends(require_signed_in)]
ConfiguratorUser = Annotated[User, Depends(require_configurator)]
AdminUser = Annotated[User, Depends(require_admin)]
