"""Agent configurations under hostile input: ids out of range, LIKE wildcards, app keys in
the history of a configuration, sort orders (docs/security.md, Hostile input)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .test_agent_configs_api import BASE, config, create

TOO_BIG_ID = 2**31  # one past the largest PostgreSQL `integer`
HUGE = 2**63  # past `bigint` too


@pytest.mark.parametrize("config_id", [TOO_BIG_ID, HUGE, 0, -1])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/{id}", None),
        ("PATCH", "/{id}", {"description": "x"}),
        ("DELETE", "/{id}", None),
        ("GET", "/{id}/versions", None),
        ("POST", "/{id}/versions/1/restore", None),
    ],
)
async def test_ids_out_of_range_are_422_never_500(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    config_id: int,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    url = BASE + path.format(id=config_id)
    response = await client.request(method, url, json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


async def test_the_largest_id_is_still_a_plain_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(f"{BASE}/{TOO_BIG_ID - 1}", headers=admin_headers)
    assert response.status_code == 404


@pytest.mark.parametrize("version", [TOO_BIG_ID, HUGE, 0])
async def test_versions_out_of_range_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], version: int
) -> None:
    created = await create(client, admin_headers)
    response = await client.post(
        f"{BASE}/{created['id']}/versions/{version}/restore", headers=admin_headers
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("offset", [str(HUGE), str(10**9 + 1), "-1"])
async def test_offsets_out_of_range_are_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], offset: str
) -> None:
    response = await client.get(BASE, params={"offset": offset}, headers=viewer_headers)
    assert response.status_code == 422, response.text


async def test_the_largest_offset_is_an_empty_page(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get(BASE, params={"offset": str(10**9)}, headers=viewer_headers)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


async def test_search_wildcards_match_only_themselves(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    await create(client, admin_headers, name="Uptime", description="Answers 100% of the time")
    await create(client, admin_headers, name="snake_case bot")
    await create(client, admin_headers, name="Paths", description="Reads C:\\reports")
    await create(client, admin_headers, name="Plain", description="nothing special")

    async def names(search: str) -> list[str]:
        response = await client.get(BASE, params={"search": search}, headers=viewer_headers)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert await names("%") == ["Uptime"]
    assert await names("_") == ["snake_case bot"]
    assert await names("\\") == ["Paths"]
    assert await names("0%") == ["Uptime"]
    assert await names("e_c") == ["snake_case bot"]
    assert await names("%%") == []
    assert await names("__") == []


async def test_viewers_never_see_app_keys_in_the_history(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    configurator_headers: dict[str, str],
    viewer_headers: dict[str, str],
) -> None:
    created = await create(client, admin_headers, app_key="first-secret-app-key-1111")
    url = f"{BASE}/{created['id']}"
    changed = await client.patch(
        url, json={"app_key": "second-secret-app-key-2222"}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.text

    seen = await client.get(f"{url}/versions", headers=viewer_headers)

    assert seen.status_code == 200, seen.text
    assert "secret-app-key" not in seen.text
    newest, first = seen.json()["items"]
    assert newest["snapshot"]["app_key"] == "…2222"
    assert newest["diff"]["app_key"] == {"from": "…1111", "to": "…2222"}
    assert first["snapshot"]["app_key"] == "…1111"
    assert first["diff"]["app_key"] == {"from": None, "to": "…1111"}
    assert newest["snapshot"]["name"] == created["name"]  # the rest is as it was
    for headers in (configurator_headers, admin_headers):
        full = (await client.get(f"{url}/versions", headers=headers)).json()["items"][0]
        assert full["snapshot"]["app_key"] == "second-secret-app-key-2222"
        assert full["diff"]["app_key"] == {
            "from": "first-secret-app-key-1111",
            "to": "second-secret-app-key-2222",
        }
        shown = (await client.get(url, headers=headers)).json()
        assert shown["app_key"] == "second-secret-app-key-2222"


async def test_short_app_keys_are_hidden_whole_in_the_history(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    created = await create(client, admin_headers, app_key="tiny-key")
    history = await client.get(f"{BASE}/{created['id']}/versions", headers=viewer_headers)
    [entry] = history.json()["items"]
    assert entry["snapshot"]["app_key"] == "…"
    assert entry["diff"]["app_key"] == {"from": None, "to": "…"}


async def test_sort_orders_are_listed_in_openapi_and_others_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    spec = (await client.get("/openapi.json")).json()
    [sort] = [p for p in spec["paths"][BASE]["get"]["parameters"] if p["name"] == "sort"]
    schema = sort["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert set(schema["enum"]) == {
        f"{sign}{field}"
        for sign in ("", "-")
        for field in ("name", "created_at", "updated_at", "config_type", "enabled")
    }
    assert sort["schema"].get("default", schema.get("default")) == "name"
    for bad in ("app_key", "--name", "name;drop"):
        response = await client.get(BASE, params={"sort": bad}, headers=admin_headers)
        assert response.status_code == 422, bad


async def test_a_search_longer_than_100_characters_is_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get(BASE, params={"search": "x" * 101}, headers=viewer_headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("field", "limit"),
    [("description", 2000), ("workspace_id", 255), ("name", 100), ("app_key", 255)],
)
async def test_limits_apply_to_the_text_as_sent_before_stripping(
    client: httpx.AsyncClient, admin_headers: dict[str, str], field: str, limit: int
) -> None:
    # One character over the schema's maxLength, past it only by a leading form feed: the schema
    # refuses it, so the API must too (it once stripped first and accepted it).
    body = config(**{field: "\f" + "a" * limit})
    response = await client.post(BASE, json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    created = await create(client, admin_headers, name=" Spaced Bot ", description="  hello  ")
    assert (created["name"], created["description"]) == ("Spaced Bot", "hello")
