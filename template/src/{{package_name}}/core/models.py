"""Shared column helpers for SQLModel tables."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, Enum, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


def created_at_field(*, index: bool = False) -> Any:
    """A `timestamptz` column filled by the database when a row is inserted."""
    return Field(
        default_factory=utcnow,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), index=index
        ),
    )


def updated_at_field() -> Any:
    """A `timestamptz` column refreshed on every update."""
    return Field(
        default_factory=utcnow,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=utcnow
        ),
    )


def optional_datetime_field() -> Any:
    """A nullable `timestamptz` column."""
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


def json_field(default: Any, *, server_default: str) -> Any:
    """A `jsonb` column with a Python and a database default."""
    return Field(
        default_factory=lambda: type(default)(default),
        sa_column=Column(JSONB, nullable=False, server_default=server_default),
    )


def enum_type(enum: type[StrEnum]) -> Enum:
    """Store a string enum as VARCHAR of its values (no PostgreSQL ENUM type to migrate)."""
    return Enum(
        enum,
        native_enum=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
