"""Typed path and query parameters shared by every router.

Ids and offsets are bounded to what PostgreSQL columns hold, so an out-of-range value is a
documented 422 instead of a database error (docs/security.md, Hostile input).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

# `integer` (int4) primary keys: the largest id a row can have.
MAX_ROW_ID = 2_147_483_647
# An offset past this is never a real page; bounded so `OFFSET` stays in `bigint`.
MAX_OFFSET = 1_000_000_000

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The row's id.")]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")]


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards escaped, for `.like(pattern, escape="\\\\")`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
