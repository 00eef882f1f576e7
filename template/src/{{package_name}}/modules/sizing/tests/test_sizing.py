"""Sizing: arithmetic, observed traffic, and the API's validation."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from ....core.models import utcnow
from ...analytics.models import RequestLog
from ..calculator import Recommendation, SizingInput, recommend, seconds
from ..router import HAS_WORKER

# What every product sizes; the background worker adds its own (worker/tests/test_sizing.py).
SERVICE_KEYS = {
    "concurrent_calls",
    "api_instances",
    "hiagent_max_concurrency",
    "api_memory_mb",
    "postgres_max_connections",
    "request_log_rows_per_day",
    "database_hot_storage_gb",
    "archive_storage_gb",
    "tokens_per_day",
}


def values(result: object) -> dict[str, float]:
    return {r.key: r.value for r in result.recommendations}  # type: ignore[attr-defined]


def test_littles_law_and_minimum_instances() -> None:
    # 600 calls a minute of 10 s: 100 in flight, 150 with headroom, 2 instances of 75.
    result = values(recommend(SizingInput(peak_requests_per_minute=600, average_call_seconds=10)))
    assert result["concurrent_calls"] == 150
    assert result["api_instances"] == 2
    assert result["hiagent_max_concurrency"] == 75
    assert result["postgres_max_connections"] == 2 * (20 + 10) + 20
    per_core = values(
        recommend(
            SizingInput(peak_requests_per_minute=600, average_call_seconds=10, server_processes=4)
        )
    )
    assert per_core["postgres_max_connections"] == 2 * 4 * (20 + 10) + 20


def test_more_load_needs_more_instances_and_storage() -> None:
    small = values(recommend(SizingInput(peak_requests_per_minute=60)))
    large = values(recommend(SizingInput(peak_requests_per_minute=60_000)))
    assert large["api_instances"] > small["api_instances"]
    assert large["database_hot_storage_gb"] > small["database_hot_storage_gb"] * 100


async def test_api_uses_settings_and_given_values(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/sizing", json={"peak_requests_per_minute": 120}, headers=viewer_headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["inputs"]["peak_requests_per_minute"] == 120
    assert body["inputs"]["hot_retention_days"] == 90
    assert all(r["reason"] for r in body["recommendations"])


async def test_observed_traffic_fills_the_inputs(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], db_session: AsyncSession
) -> None:
    now = utcnow().replace(second=30)
    for i in range(5):
        db_session.add(
            RequestLog(
                correlation_id=f"c{i}",
                endpoint="invoke",
                status="success",
                duration_ms=2000,
                tokens_in=100,
                tokens_out=50,
                timestamp=now - timedelta(seconds=i),
            )
        )
    await db_session.commit()
    body = (
        await client.post("/api/v1/sizing", json={"use_observed": True}, headers=viewer_headers)
    ).json()
    assert body["source"] == "last week's calls"
    assert body["inputs"]["average_call_seconds"] == 2.0
    assert body["inputs"]["average_tokens_per_call"] == 150
    assert body["inputs"]["peak_requests_per_minute"] >= 1


async def test_bad_input_is_422(client: httpx.AsyncClient, viewer_headers: dict[str, str]) -> None:
    for body in (
        {"peak_requests_per_minute": -1},
        {"average_call_seconds": "slow"},
        {"x": 1},
        {"use_observed": 0},  # not a yes or no
        {"hot_retention_days": True},  # not a number of days
        {"average_tokens_per_call": "1500"},
    ):
        response = await client.post("/api/v1/sizing", json=body, headers=viewer_headers)
        assert response.status_code == 422, body


def test_durations_are_rounded_as_people_write_them() -> None:
    assert [seconds(v) for v in (0.15344, 0.5, 1.25, 8.0, 12.6)] == [
        "0.15 s",
        "0.5 s",
        "1.25 s",
        "8 s",
        "13 s",
    ]
    reason = values_by_key(recommend(SizingInput(average_call_seconds=0.15344)))
    assert "0.15 s" in reason["concurrent_calls"].reason
    assert "0.15344" not in reason["concurrent_calls"].reason
    one_a_second = values_by_key(recommend(SizingInput(peak_requests_per_minute=60)))
    assert one_a_second["concurrent_calls"].reason.startswith("1 call a second")  # type: ignore[attr-defined]


def values_by_key(result: object) -> dict[str, object]:
    return {r.key: r for r in result.recommendations}  # type: ignore[attr-defined]


def test_setting_names_are_kept_for_engineers_not_in_the_words() -> None:
    result = recommend(SizingInput(server_processes=1))
    by_key = values_by_key(result)
    assert by_key["hiagent_max_concurrency"].setting == "HIAGENT_MAX_CONCURRENCY"  # type: ignore[attr-defined]
    assert by_key["postgres_max_connections"].setting == "PostgreSQL max_connections"  # type: ignore[attr-defined]
    for item in result.recommendations:
        for words in (item.label, item.reason):
            assert "_" not in words, words  # no HIAGENT_MAX_CONCURRENCY, max_connections
    # "1 copy of 1 server process", not "1 process(es)".
    assert "(es)" not in by_key["postgres_max_connections"].reason  # type: ignore[attr-defined]
    assert "1 server process," in by_key["postgres_max_connections"].reason  # type: ignore[attr-defined]


def test_amounts_are_singular_for_one() -> None:
    def amount(value: float, unit: str) -> str:
        return Recommendation(key="k", label="l", value=value, unit=unit, reason="r").amount()

    assert amount(1, "processes") == "1 process"
    assert amount(15, "processes") == "15 processes"
    assert amount(1, "calls") == "1 call"
    assert amount(1, "MB") == "1 MB"
    assert amount(2_000, "tokens") == "2,000 tokens"


def test_without_the_worker_only_the_service_is_sized() -> None:
    result = recommend(SizingInput())
    assert result.worker is False
    assert set(values(result)) == SERVICE_KEYS


async def test_the_api_sizes_the_worker_when_the_product_has_it(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    body = (await client.post("/api/v1/sizing", json={}, headers=viewer_headers)).json()
    keys = {r["key"] for r in body["recommendations"]}
    assert body["worker"] is HAS_WORKER
    assert keys >= SERVICE_KEYS
    assert (keys > SERVICE_KEYS) is HAS_WORKER
    assert body["source"] == "the figures you entered"


async def test_observed_durations_are_rounded_as_people_would_enter_them(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], db_session: AsyncSession
) -> None:
    now = utcnow()
    for i, duration in enumerate((150, 157, 153)):
        db_session.add(
            RequestLog(
                correlation_id=f"r{i}",
                endpoint="invoke",
                status="success",
                duration_ms=duration,
                timestamp=now - timedelta(seconds=i),
            )
        )
    await db_session.commit()
    body = (
        await client.post("/api/v1/sizing", json={"use_observed": True}, headers=viewer_headers)
    ).json()
    assert body["inputs"]["average_call_seconds"] == 0.15  # not 0.15333...
    reasons = " ".join(r["reason"] for r in body["recommendations"])
    assert "0.15 s" in reasons
    assert "0.153" not in reasons
