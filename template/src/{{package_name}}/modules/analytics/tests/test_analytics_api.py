"""The analytics API as the dashboard uses it: summary, time series and the request log."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from ...agents.models import AgentConfig
from ..recorder import RequestRecorder
from .conftest import RecordFactory

API = "/api/v1/analytics"
ENDPOINTS = ("summary", "timeseries", "requests", "live")


@pytest_asyncio.fixture
async def traffic(
    recorder: RequestRecorder, make_record: RecordFactory, agents: dict[str, AgentConfig]
) -> datetime:
    """Nine calls in the last hour and one two days ago; returns the time of the first."""
    support, sales = agents["support-bot"].id, agents["sales-bot"].id
    first = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=50)
    calls = [
        (support, "success", 100, 10, 100),
        (support, "success", 200, 10, 100),
        (support, "success", 300, 10, 100),
        (support, "error", 1_000, 10, 0),
        (sales, "success", 2_000, 20, 200),
        (sales, "success", 4_000, 20, 200),
        (sales, "timeout", 30_000, 20, 0),
        (None, "rejected", 5, 0, 0),
        (sales, "cancelled", 700, 20, 0),
    ]
    for minute, (agent_id, status, duration, tokens_in, tokens_out) in enumerate(calls):
        recorder.record(
            make_record(
                agent_config_id=agent_id,
                status=status,
                duration_ms=duration,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                timestamp=first + timedelta(minutes=minute * 5),
            )
        )
    recorder.record(
        make_record(agent_config_id=support, timestamp=first - timedelta(days=2), tokens_in=7)
    )
    await recorder.flush()
    return first


async def test_summary_of_the_last_24_hours(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], traffic: datetime
) -> None:
    response = await client.get(f"{API}/summary", headers=viewer_headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requests"] == 9
    assert body["errors"] == 3  # error, timeout, rejected: a cancelled call is not an error
    assert body["error_rate"] == pytest.approx(3 / 9, abs=1e-4)
    assert (body["tokens_in"], body["tokens_out"]) == (120, 700)
    assert body["max"] == 30_000
    assert body["by_status"] == {
        "success": 5,
        "error": 1,
        "timeout": 1,
        "rejected": 1,
        "cancelled": 1,
    }
    agents = [(a["agent_name"], a["requests"], a["errors"]) for a in body["by_agent"]]
    assert agents == [("support-bot", 4, 1), ("sales-bot", 4, 1), (None, 1, 1)]
    assert datetime.fromisoformat(body["end"]) - datetime.fromisoformat(body["start"]) >= (
        timedelta(hours=24)
    )
    assert datetime.fromisoformat(body["data_as_of"]) <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("params", "requests", "tokens_in"),
    [
        ({"agent": "Support-Bot"}, 4, 40),
        ({"agent": "support-bot", "status": "success"}, 3, 30),
        ({"status": "timeout"}, 1, 20),
        ({"start": "2000-01-01T00:00:00Z"}, 10, 127),
    ],
)
async def test_summary_filters(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    traffic: datetime,
    params: dict[str, str],
    requests: int,
    tokens_in: int,
) -> None:
    body = (await client.get(f"{API}/summary", params=params, headers=admin_headers)).json()
    assert (body["requests"], body["tokens_in"]) == (requests, tokens_in)


async def test_an_agent_can_be_named_by_id_and_a_range_cuts_by_minute(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    agents: dict[str, AgentConfig],
    traffic: datetime,
) -> None:
    params = {
        "agent": str(agents["sales-bot"].id),
        "start": (traffic + timedelta(minutes=20)).isoformat(),
        "end": (traffic + timedelta(minutes=30)).isoformat(),
    }
    body = (await client.get(f"{API}/summary", params=params, headers=admin_headers)).json()
    assert body["requests"] == 2  # minutes 20 and 25 of the traffic: sales-bot
    assert [a["agent_name"] for a in body["by_agent"]] == ["sales-bot"]


async def test_an_unknown_agent_is_a_404_naming_the_agents(
    client: httpx.AsyncClient, admin_headers: dict[str, str], agents: dict[str, AgentConfig]
) -> None:
    for endpoint in ENDPOINTS:
        response = await client.get(
            f"{API}/{endpoint}", params={"agent": "nobody"}, headers=admin_headers
        )
        assert response.status_code == 404, endpoint
        error = response.json()["error"]
        assert error["code"] == "not_found"
        assert error["available"] == ["sales-bot", "support-bot"]


@pytest.mark.parametrize(
    ("endpoint", "params"),
    [
        ("summary", {"status": "exploded"}),
        ("summary", {"agent": "9" * 30}),
        ("requests", {"agent": "2147483648"}),
        ("summary", {"start": "yesterday"}),
        ("summary", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
        ("summary", {"end": "9999-12-31T23:59:59Z"}),
        ("timeseries", {"interval": "week"}),
        ("timeseries", {"interval": "minute", "start": "2025-01-01T00:00:00Z"}),
        ("requests", {"limit": "0"}),
        ("requests", {"cursor": "not-a-cursor"}),
        ("requests", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
        ("live", {"window_minutes": "0"}),
    ],
)
async def test_bad_parameters_are_a_422_envelope(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    endpoint: str,
    params: dict[str, str],
) -> None:
    response = await client.get(f"{API}/{endpoint}", params=params, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


async def test_every_role_may_read_and_anonymous_callers_may_not(
    client: httpx.AsyncClient, role_headers: dict[object, dict[str, str]]
) -> None:
    for endpoint in ENDPOINTS:
        assert (await client.get(f"{API}/{endpoint}")).status_code == 401
        for headers in role_headers.values():
            response = await client.get(f"{API}/{endpoint}", headers=headers)
            assert response.status_code == 200, (endpoint, response.text)


async def test_a_time_series_by_minute_adds_up_to_the_summary(
    client: httpx.AsyncClient, admin_headers: dict[str, str], traffic: datetime
) -> None:
    params = {"start": (traffic - timedelta(minutes=5)).isoformat()}
    series = (await client.get(f"{API}/timeseries", params=params, headers=admin_headers)).json()
    summary = (await client.get(f"{API}/summary", params=params, headers=admin_headers)).json()

    assert series["interval"] == "minute"
    points = series["series"]
    assert len(points) >= 55
    assert sum(p["requests"] for p in points) == summary["requests"] == 9
    assert sum(p["errors"] for p in points) == 3
    assert sum(p["tokens_out"] for p in points) == 700
    (first_call,) = [
        p for p in points if p["bucket"].startswith(traffic.strftime("%Y-%m-%dT%H:%M"))
    ]
    assert (first_call["requests"], first_call["p50"]) == (1, 100)
    quiet = points[0]
    assert (quiet["requests"], quiet["p95"]) == (0, None)
    buckets = [datetime.fromisoformat(p["bucket"]) for p in points]
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(buckets))


@pytest.mark.parametrize(
    ("days", "interval", "expected_interval", "points"),
    [(3, None, "hour", (72, 74)), (30, None, "day", (30, 31)), (3, "day", "day", (3, 4))],
)
async def test_the_interval_follows_the_range(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    traffic: datetime,
    days: int,
    interval: str | None,
    expected_interval: str,
    points: tuple[int, int],
) -> None:
    params = {"start": (datetime.now(UTC) - timedelta(days=days)).isoformat()}
    if interval:
        params["interval"] = interval
    body = (await client.get(f"{API}/timeseries", params=params, headers=admin_headers)).json()
    assert body["interval"] == expected_interval
    assert points[0] <= len(body["series"]) <= points[1]
    assert sum(p["requests"] for p in body["series"]) == 10


async def test_the_request_log_lists_calls_newest_first_with_agent_names(
    client: httpx.AsyncClient, admin_headers: dict[str, str], traffic: datetime
) -> None:
    body = (await client.get(f"{API}/requests", headers=admin_headers)).json()

    assert body["limit"] == 50
    assert body["next_cursor"] is None
    items = body["items"]
    assert len(items) == 10
    assert [i["timestamp"] for i in items] == sorted((i["timestamp"] for i in items), reverse=True)
    newest = items[0]
    assert (newest["agent_name"], newest["status"], newest["duration_ms"]) == (
        "sales-bot",
        "cancelled",
        700,
    )
    assert newest["query"].startswith("question")
    assert newest["user_id"] == "ann@example.com"


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"agent": "support-bot"}, 5),
        ({"status": "success"}, 6),
        ({"agent": "sales-bot", "status": "timeout"}, 1),
        ({"correlation_id": "corr-1"}, 1),
    ],
)
async def test_the_request_log_filters(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    traffic: datetime,
    params: dict[str, str],
    count: int,
) -> None:
    body = (await client.get(f"{API}/requests", params=params, headers=admin_headers)).json()
    assert len(body["items"]) == count


async def test_the_request_log_time_range_is_exact(
    client: httpx.AsyncClient, admin_headers: dict[str, str], traffic: datetime
) -> None:
    params = {"start": traffic.isoformat(), "end": (traffic + timedelta(minutes=10)).isoformat()}
    body = (await client.get(f"{API}/requests", params=params, headers=admin_headers)).json()
    assert [i["duration_ms"] for i in body["items"]] == [200, 100]


async def test_pages_stay_stable_while_calls_arrive(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    recorder: RequestRecorder,
    make_record: RecordFactory,
) -> None:
    moment = datetime.now(UTC) - timedelta(hours=1)
    for _ in range(25):
        recorder.record(make_record(timestamp=moment))  # one timestamp: the id breaks ties
    await recorder.flush()

    seen: list[int] = []
    params = {"limit": "10"}
    for page in range(3):
        body = (await client.get(f"{API}/requests", params=params, headers=admin_headers)).json()
        seen += [item["id"] for item in body["items"]]
        if page == 0:
            for _ in range(5):
                recorder.record(make_record())
            await recorder.flush()
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]

    assert len(seen) == 25
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 25
    assert body["next_cursor"] is None


async def test_nothing_recorded_yet_is_no_error(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    summary = (await client.get(f"{API}/summary", headers=admin_headers)).json()
    assert (summary["requests"], summary["p50"], summary["by_agent"]) == (0, None, [])
    series = (await client.get(f"{API}/timeseries", headers=admin_headers)).json()
    assert series["interval"] == "hour"
    assert {p["requests"] for p in series["series"]} == {0}
    page = (await client.get(f"{API}/requests", headers=admin_headers)).json()
    assert page == {"items": [], "next_cursor": None, "limit": 50}
