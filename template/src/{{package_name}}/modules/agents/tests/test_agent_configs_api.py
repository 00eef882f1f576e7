"""Agent configurations: CRUD, search, per-type validation, unique names, versions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

BASE = "/api/v1/agent-configs"


def config(name: str = "Support Bot", **fields: Any) -> dict[str, Any]:
    return {"name": name, "app_key": "app-key-0001", "config_type": "agent", **fields}


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await client.post(BASE, json=config(**fields), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_read_update_delete(
    client: httpx.AsyncClient, configurator_headers: dict[str, str]
) -> None:
    created = await create(client, configurator_headers, variables={"tone": "friendly"})
    assert created["version"] == 1
    assert created["enabled"] is True
    url = f"{BASE}/{created['id']}"
    assert (await client.get(url, headers=configurator_headers)).json()["name"] == "Support Bot"
    updated = await client.patch(
        url, json={"description": "Answers tickets"}, headers=configurator_headers
    )
    assert updated.json()["version"] == 2
    assert (await client.delete(url, headers=configurator_headers)).status_code == 204
    assert (await client.get(url, headers=configurator_headers)).status_code == 404


async def test_duplicate_name_is_409_with_a_free_suggestion(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create(client, admin_headers, name="Triage")
    await create(client, admin_headers, name="Triage-2")
    clash = await client.post(BASE, json=config(name="triage"), headers=admin_headers)
    assert clash.status_code == 409
    assert clash.json()["error"]["suggested_name"] == "triage-3"


@pytest.mark.parametrize(
    ("config_type", "missing", "fix"),
    [
        ("workflow", "workflow id", {"workflow_id": "wf-1"}),
        ("retriever", "dataset id", {"dataset_ids": ["ds-1"]}),
        ("tool", "tool id", {"tool_id": "tool-1"}),
    ],
)
async def test_each_type_needs_its_fields(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    config_type: str,
    missing: str,
    fix: dict[str, Any],
) -> None:
    bad = await client.post(BASE, json=config(config_type=config_type), headers=admin_headers)
    assert bad.status_code == 422
    assert missing in bad.text
    good = await client.post(
        BASE, json=config(config_type=config_type, **fix), headers=admin_headers
    )
    assert good.status_code == 201, good.text


async def test_update_is_validated_for_the_resulting_type(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create(client, admin_headers)
    response = await client.patch(
        f"{BASE}/{created['id']}", json={"config_type": "tool"}, headers=admin_headers
    )
    assert response.status_code == 422
    assert "tool id" in response.json()["error"]["message"]


async def test_search_filter_and_sort(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create(client, admin_headers, name="Billing helper", description="invoices")
    await create(client, admin_headers, name="Weather", config_type="tool", tool_id="t1")
    await create(client, admin_headers, name="Archive", enabled=False)
    names = lambda r: [c["name"] for c in r.json()["items"]]  # noqa: E731
    assert names(await client.get(BASE, params={"search": "INVOICE"}, headers=admin_headers)) == [
        "Billing helper"
    ]
    assert names(await client.get(BASE, params={"config_type": "tool"}, headers=admin_headers)) == [
        "Weather"
    ]
    assert names(await client.get(BASE, params={"enabled": "false"}, headers=admin_headers)) == [
        "Archive"
    ]
    listed = await client.get(BASE, params={"sort": "-name", "limit": 2}, headers=admin_headers)
    assert names(listed) == ["Weather", "Billing helper"]
    assert listed.json()["total"] == 3
    bad_sort = await client.get(BASE, params={"sort": "app_key"}, headers=admin_headers)
    assert bad_sort.status_code == 422


async def test_every_page_reports_the_total_that_matched(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # The total rides on the page's rows; a page past the end has none and counts on its own.
    for name in ("One", "Two", "Three"):
        await create(client, admin_headers, name=name)
    await create(client, admin_headers, name="Off", enabled=False)

    async def page(**params: Any) -> tuple[list[str], int]:
        body = (await client.get(BASE, params=params, headers=admin_headers)).json()
        return [c["name"] for c in body["items"]], body["total"]

    assert await page(limit=2) == (["Off", "One"], 4)
    assert await page(limit=2, offset=2) == (["Three", "Two"], 4)
    assert await page(limit=2, offset=4) == ([], 4)
    assert await page(limit=2, offset=1000, enabled="true") == ([], 3)
    assert await page(search="nothing like this") == ([], 0)


async def test_versions_record_who_and_what_and_restore(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create(client, admin_headers, variables={"tone": "formal"})
    url = f"{BASE}/{created['id']}"
    await client.patch(url, json={"variables": {"tone": "casual"}}, headers=admin_headers)
    history = (await client.get(f"{url}/versions", headers=admin_headers)).json()
    assert [v["version"] for v in history["items"]] == [2, 1]
    assert history["items"][0]["diff"] == {
        "variables": {"from": {"tone": "formal"}, "to": {"tone": "casual"}}
    }
    assert history["items"][0]["changed_by"] == created["created_by"]
    restored = await client.post(f"{url}/versions/1/restore", headers=admin_headers)
    assert restored.json()["variables"] == {"tone": "formal"}
    assert restored.json()["version"] == 3
    missing = await client.post(f"{url}/versions/42/restore", headers=admin_headers)
    assert missing.status_code == 404


async def test_viewers_read_but_never_see_the_app_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    created = await create(client, admin_headers, app_key="secret-app-key-9876")
    seen = await client.get(f"{BASE}/{created['id']}", headers=viewer_headers)
    assert seen.status_code == 200
    assert seen.json()["app_key"] == "…9876"
    assert (
        await client.post(BASE, json=config(name="x"), headers=viewer_headers)
    ).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "app_key": "k"},
        {"name": "12345", "app_key": "k"},
        {"name": "ok", "app_key": ""},
        {"name": "ok", "app_key": "k", "config_type": "robot"},
        {"name": "ok", "app_key": "k", "variables": {"n": 5}},
        {"name": "ok", "app_key": "k", "max_concurrency": 0},
        {"name": ["x"], "app_key": {"a": 1}},
        {"name": "ok", "app_key": "k", "unknown": True},
        [],
        "text",
        None,
    ],
)
async def test_wrong_types_are_422_never_500(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: Any
) -> None:
    response = await client.post(BASE, json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


async def test_malformed_json_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        BASE,
        content=b'{"name": "x",',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
