"""Bodies of the auth API."""

from __future__ import annotations

from pydantic import BaseModel

from ..users.schemas import UserRead


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class Me(UserRead):
    """The signed-in user and what the role may do."""

    permissions: list[str]
