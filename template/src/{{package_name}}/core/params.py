"""Typed path and query parameters shared by every router.

Ids and offsets are bounded to what PostgreSQL columns hold, so an out-of-range value is a
documented 422 instead of a database error (docs/security.md, Hostile input).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator

# `integer` (int4) primary keys: the largest id a row can have.
MAX_ROW_ID = 2_147_483_647
# An offset past this is never a real page; bounded so `OFFSET` stays in `bigint`.
MAX_OFFSET = 1_000_000_000

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The row's id.")]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")]


def _iso_8601_only(value: Any) -> Any:
    # Lax parsing reads a number as seconds since 1970 ("0.5" is a date): the API says ISO 8601.
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-12-03T09:00:00Z")
    return value


# A date and time in ISO 8601, never a bare number.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards escaped, for `.like(pattern, escape="\\\\")`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
