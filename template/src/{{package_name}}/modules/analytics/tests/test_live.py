"""/analytics/live: a JSON snapshot, or server-sent events pushed when calls are written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from prometheus_client import REGISTRY

from ..recorder import RequestRecorder
from .conftest import RecordFactory

LIVE = "/api/v1/analytics/live"
STREAM = {"Accept": "text/event-stream"}


async def _events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    name = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name == "usage":
            yield json.loads(line.removeprefix("data: "))


def _open_streams() -> float:
    return REGISTRY.get_sample_value("analytics_live_streams") or 0


async def test_without_an_event_stream_accept_header_it_is_one_snapshot(
    client: httpx.AsyncClient,
    viewer_headers: dict[str, str],
    recorder: RequestRecorder,
    make_record: RecordFactory,
) -> None:
    recorder.record(make_record(tokens_out=42))
    await recorder.flush()

    response = await client.get(LIVE, params={"window_minutes": 5}, headers=viewer_headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["requests"], body["tokens_out"], body["window_minutes"]) == (1, 42, 5)


async def test_a_bounded_stream_ends_by_itself(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get(
        LIVE, params={"max_events": 1}, headers={**viewer_headers, **STREAM}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("retry: ")
    events = [event async for event in _events(response)]
    assert [event["requests"] for event in events] == [0]


async def test_new_calls_are_pushed_at_once_and_a_closed_stream_stops(
    live_server: str,
    viewer_headers: dict[str, str],
    recorder: RequestRecorder,
    make_record: RecordFactory,
) -> None:
    params = {"interval_s": 60}
    async with (
        httpx.AsyncClient(base_url=live_server, timeout=10) as http,
        http.stream("GET", LIVE, params=params, headers={**viewer_headers, **STREAM}) as response,
    ):
        assert response.status_code == 200
        events = _events(response)
        assert (await anext(events))["requests"] == 0
        assert _open_streams() == 1

        recorder.record(make_record())
        await recorder.flush()
        pushed = await asyncio.wait_for(anext(events), 5)  # well before the 60 s tick
        assert pushed["requests"] == 1

    async def closed() -> None:
        while _open_streams() != 0:  # noqa: ASYNC110 - the server notices on its own time
            await asyncio.sleep(0.05)

    await asyncio.wait_for(closed(), 5)
