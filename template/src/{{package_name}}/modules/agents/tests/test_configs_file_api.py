"""Export and import of configurations through the API (the dashboard's Export and Import)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..service import SNAPSHOT_FIELDS

BASE = "/api/v1/agent-configs"


async def add(client: httpx.AsyncClient, headers: dict[str, str], name: str, **fields: Any) -> int:
    body = {"name": name, "app_key": f"key-{name}-0001", **fields}
    response = await client.post(BASE, json=body, headers=headers)
    assert response.status_code == 201, response.text
    config_id: int = response.json()["id"]
    return config_id


async def current(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(BASE, headers=headers, params={"limit": 200})
    return {item["name"]: item for item in response.json()["items"]}


async def test_export_is_a_sorted_file_without_app_keys_unless_asked(
    client: httpx.AsyncClient, configurator_headers: dict[str, str]
) -> None:
    await add(client, configurator_headers, "support-bot", variables={"tone": "kind", "a": "1"})
    await add(client, configurator_headers, "Report", config_type="workflow", workflow_id="wf-1")

    response = await client.get(f"{BASE}/export", headers=configurator_headers)

    assert response.status_code == 200
    assert "agent-configs.json" in response.headers["content-disposition"]
    document = response.json()
    assert (document["kind"], document["version"], document["app_keys"]) == (
        "agent-configs",
        1,
        "omitted",
    )
    assert [entry["name"] for entry in document["configs"]] == ["Report", "support-bot"]
    assert "key-" not in response.text
    assert all("app_key" not in entry for entry in document["configs"])
    assert list(document["configs"][0])[:3] == ["name", "config_type", "description"]
    # Every setting a person can change travels, in the file's order.
    assert set(document["configs"][0]) == set(SNAPSHOT_FIELDS) - {"app_key"}
    # The same data gives the same text: a file to diff and review.
    again = await client.get(f"{BASE}/export", headers=configurator_headers)
    assert again.text == response.text

    with_keys = await client.get(
        f"{BASE}/export", params={"with_secrets": True}, headers=configurator_headers
    )
    keys = {entry["name"]: entry["app_key"] for entry in with_keys.json()["configs"]}
    assert keys == {"Report": "key-Report-0001", "support-bot": "key-support-bot-0001"}
    assert with_keys.json()["app_keys"] == "included"


async def test_viewers_can_neither_export_nor_import(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    assert (await client.get(f"{BASE}/export", headers=viewer_headers)).status_code == 403
    empty = {"configs": []}
    assert (
        await client.post(f"{BASE}/import", json=empty, headers=viewer_headers)
    ).status_code == 403


async def test_an_export_imported_elsewhere_creates_updates_and_keeps_the_keys(
    client: httpx.AsyncClient, configurator_headers: dict[str, str]
) -> None:
    headers = configurator_headers
    await add(client, headers, "support-bot", description="Answers tickets")
    exported = (await client.get(f"{BASE}/export", headers=headers)).json()
    exported["configs"][0]["description"] = "Answers tickets politely"
    exported["configs"].append({"name": "sales-bot", "app_key": "key-sales-0001"})

    dry = await client.post(
        f"{BASE}/import", params={"dry_run": True}, json=exported, headers=headers
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert [(c["name"], c["action"], c["fields"]) for c in dry.json()["changes"]] == [
        ("support-bot", "update", ["description"]),
        ("sales-bot", "create", ["name", "app_key"]),
    ]
    assert set(await current(client, headers)) == {"support-bot"}  # nothing written

    done = await client.post(f"{BASE}/import", json=exported, headers=headers)
    assert done.status_code == 200, done.text
    configs = await current(client, headers)
    assert configs["support-bot"]["description"] == "Answers tickets politely"
    assert configs["support-bot"]["app_key"] == "key-support-bot-0001"  # kept: not in the file
    assert configs["support-bot"]["version"] == 2
    assert configs["sales-bot"]["app_key"] == "key-sales-0001"
    history = await client.get(f"{BASE}/{configs['support-bot']['id']}/versions", headers=headers)
    assert history.json()["items"][0]["change"] == "imported"

    again = await client.post(f"{BASE}/import", json=exported, headers=headers)
    assert {c["action"] for c in again.json()["changes"]} == {"unchanged"}


async def test_a_file_with_any_problem_changes_nothing_and_says_what_to_fix(
    client: httpx.AsyncClient, configurator_headers: dict[str, str]
) -> None:
    headers = configurator_headers
    await add(client, headers, "support-bot")
    before = await current(client, headers)
    good_change = {"name": "support-bot", "description": "Changed"}

    cases: list[tuple[dict[str, Any], str]] = [
        # a new configuration without its key
        ({"configs": [good_change, {"name": "new-bot"}]}, "'new-bot' does not exist here yet"),
        # a workflow without its workflow id
        (
            {"configs": [good_change, {"name": "support-bot", "config_type": "workflow"}]},
            "appears twice",
        ),
        (
            {"configs": [good_change, {"name": "flow", "app_key": "k", "config_type": "workflow"}]},
            "workflow id",
        ),
    ]
    for document, expected in cases:
        response = await client.post(f"{BASE}/import", json=document, headers=headers)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["message"].startswith("Nothing was changed"), error
        assert any(expected in problem for problem in error["problems"]), error

    for document in (
        {"configs": [{"name": "support-bot", "descripton": "typo"}]},  # unknown field
        {"kind": "users", "configs": []},
        {"configs": [{"name": "support-bot", "max_concurrency": 0}]},
        {"version": 99, "configs": []},
    ):
        response = await client.post(f"{BASE}/import", json=document, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["errors"], response.text

    not_json = await client.post(
        f"{BASE}/import",
        content=b"name: support-bot",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    assert await current(client, headers) == before
    assert json.dumps(before)  # still the one configuration, unchanged
