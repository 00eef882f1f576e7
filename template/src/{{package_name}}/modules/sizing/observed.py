"""Fill the calculator's inputs from the last week's request log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.models import utcnow

_OBSERVED = text(
    """
    WITH minutes AS (
        SELECT date_trunc('minute', timestamp) AS minute, count(*) AS calls
        FROM request_logs WHERE timestamp >= :since GROUP BY 1
    )
    SELECT
        (SELECT coalesce(max(calls), 0) FROM minutes) AS peak_per_minute,
        coalesce(avg(duration_ms), 0) AS average_ms,
        coalesce(avg(tokens_in + tokens_out), 0) AS average_tokens,
        count(*) AS calls
    FROM request_logs WHERE timestamp >= :since
    """
)


async def observed_load(session: AsyncSession, days: int = 7) -> dict[str, float] | None:
    """Peak calls per minute, average duration and tokens; None when there is no traffic."""
    connection = await session.connection()
    since = utcnow() - timedelta(days=days)
    row = (await connection.execute(_OBSERVED, {"since": since})).one()
    if not row.calls:
        return None
    return {
        "peak_requests_per_minute": float(row.peak_per_minute),
        # Rounded as people would enter it: 0.15 s, not 0.15344 s.
        "average_call_seconds": max(round(float(row.average_ms) / 1000, 2), 0.01),
        "average_tokens_per_call": int(row.average_tokens),
    }
