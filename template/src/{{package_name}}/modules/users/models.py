"""The User table: people who sign in to the API and the dashboard."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field, enum_type, optional_datetime_field, updated_at_field


class Role(StrEnum):
    """Sign-in roles; what each may do is in docs/architecture.md (Sign-in and roles)."""

    ADMIN = "admin"
    CONFIGURATOR = "configurator"
    VIEWER = "viewer"


class User(SQLModel, table=True):
    """A person with a role; deactivated rather than deleted."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: Role = Field(default=Role.VIEWER, sa_type=enum_type(Role))
    active: bool = Field(default=True)
    last_login: datetime | None = optional_datetime_field()
    # Raised when the password changes or the account is deactivated: older tokens stop working.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins counted per key (account and client, or client), within a window."""

    __tablename__ = "login_throttles"
    __table_args__ = (Index("ix_login_throttles_window", "window_started_at"),)

    key: str = Field(primary_key=True, max_length=200)
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    blocked_until: datetime | None = optional_datetime_field()
