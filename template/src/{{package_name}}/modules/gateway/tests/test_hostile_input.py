"""Gateway routes under hostile input: ids, offsets and names out of range are a 422, and
a name that merely looks like a number is a 404, never a 500."""

from __future__ import annotations

import httpx
import pytest

TOO_BIG_ID = 2**31  # one past the largest PostgreSQL `integer`


@pytest.mark.parametrize("config_id", [TOO_BIG_ID, 2**63, 0, -1])
async def test_configuration_ids_out_of_range_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], config_id: int
) -> None:
    base = f"/api/v1/agent-configs/{config_id}"
    for response in (
        await client.get(f"{base}/test-runs", headers=admin_headers),
        await client.post(f"{base}/test-runs", json={"query": "hi"}, headers=admin_headers),
        await client.get(f"{base}/breaker", headers=admin_headers),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("offset", [str(2**63), str(10**9 + 1), "-1"])
async def test_test_run_offsets_out_of_range_are_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], offset: str
) -> None:
    response = await client.get(
        "/api/v1/agent-configs/1/test-runs", params={"offset": offset}, headers=viewer_headers
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/agents/{name}/invoke", {"query": "hi"}),
        ("POST", "/agents/{name}/stream", {"query": "hi"}),
        ("POST", "/workflows/{name}/run", {"inputs": {}}),
        ("GET", "/workflows/{name}/runs/run-1", None),
        ("POST", "/retrievers/{name}/query", {"query": "hi"}),
        ("POST", "/tools/{name}/exec", {"inputs": {}}),
    ],
)
async def test_names_are_bounded_and_odd_digits_are_names(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    too_long = await client.request(
        method, "/api/v1" + path.format(name="n" * 101), json=body, headers=admin_headers
    )
    assert too_long.status_code == 422, too_long.text
    # Digits that `int()` cannot read, and numbers past any id: names nobody has.
    for name in ("²", "9" * 30, str(TOO_BIG_ID)):
        unknown = await client.request(
            method, "/api/v1" + path.format(name=name), json=body, headers=admin_headers
        )
        assert unknown.status_code == 404, (name, unknown.text)
