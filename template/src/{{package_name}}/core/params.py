"""Typed path and query parameters shared by every router.

Ids and offsets are bounded to what PostgreSQL columns hold, so an out-of-range value is a
documented 422 instead of a database error (docs/security.md, Hostile input).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator


def _written_as_a_whole_number(value: Any) -> Any:
    # Pydantic reads " 2\r", "+2" or "1_0" as a number; the OpenAPI schema's integer does not.
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("expected a whole number, written without spaces or other characters")
    return value


def _written_as_a_number(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", value):
        raise ValueError("expected a number, written without spaces or other characters")
    return value


# Numbers in paths and query strings: add one after `Path(...)` or `Query(...)`, as in
# `Annotated[int, Query(ge=1), WRITTEN_AS_INTEGER]`, so a value the schema does not call a number
# is a 422 instead of being read as one (docs/security.md, Hostile input).
WRITTEN_AS_INTEGER = BeforeValidator(_written_as_a_whole_number)
WRITTEN_AS_NUMBER = BeforeValidator(_written_as_a_number)

# `integer` (int4) primary keys: the largest id a row can have.
MAX_ROW_ID = 2_147_483_647
# An offset past this is never a real page; bounded so `OFFSET` stays in `bigint`.
MAX_OFFSET = 1_000_000_000

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The row's id."), WRITTEN_AS_INTEGER]
PageOffset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip."), WRITTEN_AS_INTEGER
]


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
