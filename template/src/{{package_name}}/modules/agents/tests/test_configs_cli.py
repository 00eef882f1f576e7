"""`bootstrap` with HIAGENT_AGENTS, and `configs export | import` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ....testing.cli import run_cli, staging_environment

BASE = "/api/v1/agent-configs"
pytestmark = pytest.mark.slow  # each step starts the command line


@pytest.fixture
def environment(database_url: str) -> dict[str, str]:
    return staging_environment(database_url, LOG_LEVEL="WARNING")


async def configs(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(BASE, headers=headers, params={"limit": 200})
    return {item["name"]: item for item in response.json()["items"]}


def agents(**app_keys: Any) -> str:
    return json.dumps({name.replace("_", "-"): key for name, key in app_keys.items()})


async def test_bootstrap_sets_up_hiagent_agents_and_keeps_dashboard_edits(
    tmp_path: Path,
    environment: dict[str, str],
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
) -> None:
    report = {"app_key": "key-report-1", "config_type": "workflow", "workflow_id": "wf-1"}
    env = {**environment, "HIAGENT_AGENTS": agents(support_bot="key-support-1", report=report)}

    first = run_cli("bootstrap", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "create    support-bot" in first.stdout
    assert "2 created" in first.stdout
    second = run_cli("bootstrap", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "0 created, 0 updated, 2 unchanged" in second.stdout
    stored = await configs(client, configurator_headers)
    assert stored["support-bot"]["app_key"] == "key-support-1"
    assert (stored["report"]["config_type"], stored["report"]["workflow_id"]) == (
        "workflow",
        "wf-1",
    )
    assert stored["support-bot"]["version"] == 1

    # A key rotated in HIAGENT_AGENTS reaches a configuration nobody has edited since.
    env["HIAGENT_AGENTS"] = agents(support_bot="key-support-2", report=report)
    rotated = run_cli("bootstrap", env=env, cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "update    support-bot (app_key)" in rotated.stdout
    assert "key-support" not in rotated.stdout + rotated.stderr  # keys are never printed

    # A configurator edits it in the dashboard: the next bootstrap keeps the edit.
    support_id = stored["support-bot"]["id"]
    edit = {"description": "Edited in the dashboard", "max_concurrency": 3}
    edited = await client.patch(f"{BASE}/{support_id}", json=edit, headers=configurator_headers)
    assert edited.status_code == 200, edited.text
    env["HIAGENT_AGENTS"] = agents(support_bot="key-support-3", report=report)
    kept = run_cli("bootstrap", env=env, cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert "keep      support-bot (app_key): changed by a person" in kept.stdout
    after = (await configs(client, configurator_headers))["support-bot"]
    assert after["description"] == "Edited in the dashboard"
    assert after["max_concurrency"] == 3
    assert after["app_key"] == "key-support-2"

    # Asked to: only what HIAGENT_AGENTS gives (the key) replaces the edited configuration's.
    forced = run_cli("bootstrap", env={**env, "HIAGENT_AGENTS_OVERWRITE": "true"}, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    after = (await configs(client, configurator_headers))["support-bot"]
    assert after["app_key"] == "key-support-3"
    assert after["description"] == "Edited in the dashboard"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"support-bot": "key-support-9",}', "is not valid JSON"),
        ('["key-support-9"]', "must be a JSON object"),
        ('{"support-bot": "key-support-9", "new-bot": {"description": "x"}}', "app key is missing"),
        ('{"support-bot": "key support 9"}', "app_key: an app key is printable characters"),
    ],
)
async def test_a_wrong_hiagent_agents_stops_bootstrap_before_anything_is_written(
    tmp_path: Path,
    environment: dict[str, str],
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
    value: str,
    expected: str,
) -> None:
    result = run_cli("bootstrap", env={**environment, "HIAGENT_AGENTS": value}, cwd=tmp_path)

    assert result.returncode == 2, result.stdout
    assert "HIAGENT_AGENTS" in result.stderr
    assert expected in result.stderr
    assert "key-support-9" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert await configs(client, configurator_headers) == {}


async def test_configs_export_then_import_promotes_them_all_or_nothing(
    tmp_path: Path,
    environment: dict[str, str],
    client: httpx.AsyncClient,
    configurator_headers: dict[str, str],
) -> None:
    headers = configurator_headers
    for name in ("support-bot", "sales-bot"):
        body = {"name": name, "app_key": f"key-{name}-1", "variables": {"tone": "kind"}}
        assert (await client.post(BASE, json=body, headers=headers)).status_code == 201
    exported = tmp_path / "agents.json"

    result = run_cli("configs", "export", "-o", str(exported), env=environment, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = exported.read_text()
    assert text == (await client.get(f"{BASE}/export", headers=headers)).text
    assert "key-" not in text
    secrets = run_cli("configs", "export", "--with-secrets", env=environment, cwd=tmp_path)
    assert '"app_key": "key-sales-bot-1"' in secrets.stdout

    # Reviewed and changed: a new agent without its key is refused, and nothing is written.
    document = json.loads(text)
    document["configs"][0]["description"] = "Sells"
    document["configs"].append({"name": "billing-bot", "enabled": False})
    exported.write_text(json.dumps(document))
    refused = run_cli("configs", "import", str(exported), env=environment, cwd=tmp_path)
    assert refused.returncode == 1
    assert "nothing was changed" in refused.stderr
    assert "'billing-bot' does not exist here yet and has no app key" in refused.stderr
    assert (await configs(client, headers))["sales-bot"]["description"] == ""

    document["configs"][-1]["app_key"] = "key-billing-1"
    exported.write_text(json.dumps(document))
    dry = run_cli("configs", "import", str(exported), "--dry-run", env=environment, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "update    sales-bot (description)" in dry.stdout
    assert "create    billing-bot" in dry.stdout
    assert "unchanged support-bot" in dry.stdout
    assert "Nothing was written" in dry.stdout
    assert set(await configs(client, headers)) == {"sales-bot", "support-bot"}

    done = run_cli("configs", "import", str(exported), env=environment, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 created, 1 updated, 1 unchanged" in done.stdout
    stored = await configs(client, headers)
    assert stored["sales-bot"]["description"] == "Sells"
    assert stored["sales-bot"]["app_key"] == "key-sales-bot-1"
    assert (stored["billing-bot"]["app_key"], stored["billing-bot"]["enabled"]) == (
        "key-billing-1",
        False,
    )

    for bad in ("name: sales-bot\n", '{"kind": "users", "configs": []}'):
        exported.write_text(bad)
        wrong = run_cli("configs", "import", str(exported), env=environment, cwd=tmp_path)
        assert wrong.returncode == 1
        assert "is not a configurations file (nothing was changed)" in wrong.stderr
        assert "Traceback" not in wrong.stderr
    assert await configs(client, headers) == stored
