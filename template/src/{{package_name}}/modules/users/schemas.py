"""Request and response bodies of the users API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .models import Role

USERNAME_PATTERN = r"^[A-Za-z0-9._-]{3,64}$"
# Deliberately lax: on-prem domains such as corp.local must pass.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"


class UserRead(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    role: Role
    active: bool
    last_login: datetime | None
    created_at: datetime


class UserCreate(BaseModel):
    """A new user, created by an admin."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN)
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.VIEWER


class UserUpdate(BaseModel):
    """Fields an admin may change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)


class UserPage(BaseModel):
    """One page of users."""

    items: list[UserRead]
    total: int
