"""Task routes under hostile input: over-long ids and names are a 422, odd digits a 404."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("path", ["/api/v1/tasks/{id}", "/api/v1/tasks/{id}/events"])
async def test_task_ids_longer_than_a_task_id_are_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], path: str
) -> None:
    too_long = await client.get(path.format(id="a" * 33), headers=viewer_headers)
    assert too_long.status_code == 422, too_long.text
    unknown = await client.get(path.format(id="a" * 32), headers=viewer_headers)
    assert unknown.status_code == 404, unknown.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/agents/{name}/tasks", {"query": "hi"}),
        ("/api/v1/workflows/{name}/tasks", {"inputs": {}}),
    ],
)
async def test_configuration_names_are_bounded(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], path: str, body: dict[str, object]
) -> None:
    too_long = await client.post(path.format(name="n" * 101), json=body, headers=viewer_headers)
    assert too_long.status_code == 422, too_long.text
    for name in ("²", str(2**31), "9" * 30):
        unknown = await client.post(path.format(name=name), json=body, headers=viewer_headers)
        assert unknown.status_code == 404, (name, unknown.text)
