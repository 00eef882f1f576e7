"""Log lines per profile: readable in dev (one short line a request, assets quiet), JSON else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from loguru import logger

from ..logging import configure_logging
from ..settings import AppEnv, Settings

READABLE_ACCESS_LINE = re.compile(r"^\d\d:\d\d:\d\d GET /api/v1/agent-configs 200 [\d.]+ ms$")


@pytest.fixture
def restore_logging(app: FastAPI) -> Iterator[None]:
    yield
    settings: Settings = app.state.settings
    configure_logging(settings.log_level, json_lines=settings.json_logs)


def profile_settings(app_env: AppEnv, **values: object) -> Settings:
    return Settings(_env_file=None, app_env=app_env, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("app_env", "log_json", "expected"),
    [
        (AppEnv.DEV, None, False),
        (AppEnv.TEST, None, True),
        (AppEnv.STAGING, None, True),
        (AppEnv.PROD, None, True),
        (AppEnv.DEV, True, True),
        (AppEnv.PROD, False, False),
    ],
)
def test_dev_reads_as_text_and_every_other_profile_as_json(
    app_env: AppEnv, log_json: bool | None, expected: bool
) -> None:
    assert profile_settings(app_env, log_json=log_json).json_logs is expected


@pytest.mark.usefixtures("restore_logging")
async def test_dev_prints_one_readable_line_per_request(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json_lines=profile_settings(AppEnv.DEV).json_logs)
    await client.get("/api/v1/agent-configs", headers=admin_headers)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert [line for line in lines if READABLE_ACCESS_LINE.match(line)], lines
    assert not [line for line in lines if line.startswith("{")], lines
    assert "\x1b[" not in err  # colours only on a terminal
    assert out == ""


@pytest.mark.usefixtures("restore_logging")
async def test_staging_and_prod_print_json_lines(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    for app_env in (AppEnv.STAGING, AppEnv.PROD):
        configure_logging("INFO", json_lines=profile_settings(app_env).json_logs)
        await client.get("/api/v1/agent-configs", headers={**admin_headers, "X-Request-ID": "j1"})
        out = capsys.readouterr().out
        entries = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert [e for e in entries if e["path"] == "/api/v1/agent-configs"], entries


def served(path: str, status: int) -> None:
    # What the request middleware writes for every request it answers.
    logger.bind(method="GET", path=path, status=status, duration_ms=0.4).info(
        f"GET {path} {status}"
    )


@pytest.mark.usefixtures("restore_logging")
def test_dev_keeps_served_assets_quiet_unless_debug(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json_lines=False)
    served("/assets/index-4f2a.js", 200)
    served("/assets/missing.css", 404)
    served("/", 200)
    served("/api/v1/agents/a.b", 200)
    printed = capsys.readouterr().err
    assert "index-4f2a.js" not in printed
    assert "GET /assets/missing.css 404" in printed
    assert "GET / 200" in printed
    assert "GET /api/v1/agents/a.b 200" in printed

    configure_logging("DEBUG", json_lines=False)
    served("/assets/index-4f2a.js", 200)
    assert "GET /assets/index-4f2a.js 200" in capsys.readouterr().err
