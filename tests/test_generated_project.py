"""The default profile end to end: bootstrap, `dev`, and its own test suite on real PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import UV

pytestmark = pytest.mark.slow
SLUG = "acme-support"
# What a person reads from the quickstart (docs/testing.md): under 40 lines to a running product.
NEW_LINES = 8
DEV_LINES = 30
SIGN_IN_LINE = re.compile(r"^\d\d:\d\d:\d\d POST /api/v1/auth/login 200 [\d.]+ ms$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def env_without_database() -> dict[str, str]:
    # The quickstart path: nothing configured, embedded PostgreSQL.
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIRTUAL_ENV")}


@dataclass(frozen=True)
class Created:
    """A product made as the README's quickstart makes it, and what that printed."""

    path: Path
    printed: str


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> Created:
    """`hiagent-template new` with default answers, bootstrap included (embedded PostgreSQL)."""
    destination = tmp_path_factory.mktemp("generated") / "acme"
    new = [sys.executable, "-c", "from hiagent_template.cli import main; main()", "new"]
    result = subprocess.run(
        [*new, str(destination), "--defaults", "--project-name", "Acme Support"],
        capture_output=True,
        text=True,
        env=env_without_database(),
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    log = (destination / ".data" / "new.log").read_text()
    assert "Admin created" in log, log
    return Created(destination, result.stdout)


@pytest.fixture(scope="module")
def project(created: Created) -> Path:
    return created.path


def test_the_quickstart_prints_a_few_plain_lines_and_logs_the_rest(created: Created) -> None:
    # Captured, as in a CI log or a pipe: no colour codes, one line a step.
    assert "\x1b[" not in created.printed
    lines = created.printed.splitlines()
    assert len(lines) <= NEW_LINES, created.printed
    assert not [line for line in lines if line.lstrip().startswith(("+ ", "create "))]
    log = created.path / ".data" / "new.log"
    assert f"full output: {log}" in lines[0]
    assert " + " in log.read_text()  # what uv installed is in the log, not on the terminal


def read_env(project: Path) -> dict[str, str]:
    lines = (project / ".env").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_bootstrap_made_a_repo_secrets_and_an_admin(project: Path) -> None:
    env = read_env(project)
    assert len(env["HIAGENT_JWT_SECRET"]) >= 32
    assert len(env["HIAGENT_ADMIN_PASSWORD"]) >= 16
    assert (project / ".env").stat().st_mode & 0o077 == 0
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.split()
    assert ".env" not in tracked
    assert ".copier-answers.yml" in tracked
    answers = (project / ".copier-answers.yml").read_text()
    assert env["HIAGENT_ADMIN_PASSWORD"] not in answers
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout.strip() == "", status.stdout


def http(method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_dev_serves_a_ready_api_where_the_admin_signs_in(project: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [UV, "run", "--no-sync", SLUG, "dev", "--no-reload", "--port", str(port)],
        cwd=project,
        env=env_without_database(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            try:
                status, _ = http("GET", f"{base}/health/ready")
                if status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.3)
        assert status == 200
        password = read_env(project)["HIAGENT_ADMIN_PASSWORD"]
        form = urllib.parse.urlencode({"username": "admin", "password": password}).encode()
        status, token = http(
            "POST",
            f"{base}/api/v1/auth/login",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200, token
        status, me = http(
            "GET",
            f"{base}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert status == 200
        assert me["role"] == "admin"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert f"http://127.0.0.1:{port}" in output
    assert "Password:" in output
    # Readable lines (one a request), no JSON, no colour codes; a few lines to a ready API.
    assert "\x1b[" not in output
    lines = output.splitlines()
    assert not [line for line in lines if line.startswith("{")], output
    sign_in = [n for n, line in enumerate(lines) if SIGN_IN_LINE.match(line)]
    assert sign_in, output
    assert sign_in[0] <= DEV_LINES, output


def test_the_generated_test_suite_passes(project: Path) -> None:
    # The product's hang watchdog fails a stuck test within minutes; this limit is the last net.
    command = [UV, "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", "--durations=5"]
    # Its own temporary folder: the shared one keeps only the newest few sessions' folders.
    command.append(f"--basetemp={project.parent / 'suite-tmp'}")
    try:
        result = subprocess.run(
            command,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
            env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        )
    except subprocess.TimeoutExpired as stuck:
        printed = [
            part.decode(errors="replace") if isinstance(part, bytes) else part or ""
            for part in (stuck.output, stuck.stderr)
        ]
        output = "".join(printed)[-8000:]
        pytest.fail(f"the suite ran past {stuck.timeout} s; its output:\n{output}")
    tail = "\n".join(result.stdout.splitlines()[-40:])
    assert result.returncode == 0, tail + result.stderr[-3000:]
    assert " passed" in tail
