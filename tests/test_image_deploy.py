"""deploy/onprem/deploy.sh, unchanged, releasing and rolling back the product's real image.

deploy.sh calls `docker`; here that is tests/docker_on_buildah.py, which builds the image with
buildah and runs its containers read-only from it (its docstring lists what it replaces:
network, compose's postgres/redis/proxy, the health interval). The default answers, one API
replica: release v1, release v2 (a changed runbook), `rollback` to v1, then a v3 whose API
cannot start: deploy.sh must remove it and leave v1 serving. test_deploy.py covers the script's
other paths against a stand-in `docker` that runs nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from .buildah import Container, alive, buildah, dockerfile_bases, ensure_bases, stop
from .conftest import REPO, UV, render
from .running_product import asyncpg_dsn, database_server
from .test_image import clean_env, execute

pytestmark = pytest.mark.slow
IMAGE = "localhost/hiagent-template-deploy/acme-support"  # APP_IMAGE: never a user's image


@dataclass
class Host:
    """A rendered product (a git checkout) whose `docker` is the buildah shim."""

    project: Path
    env: dict[str, str]
    state: Path

    def deploy(self, *args: str) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        result = subprocess.run(
            ["deploy/onprem/deploy.sh", *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        print(
            f"deploy.sh {' '.join(args)}: exit {result.returncode} in "
            f"{time.monotonic() - started:.0f} s"
        )
        return result

    def containers(self) -> list[dict[str, Any]]:
        if not self.state.exists():
            return []
        saved: list[dict[str, Any]] = json.loads(self.state.read_text())["containers"]
        return [record for record in saved if alive(record["pid"])]

    def running(self) -> list[tuple[str, str]]:
        return sorted((record["service"], record["tag"]) for record in self.containers())

    def commit(self, message: str) -> None:
        for args in (["add", "-A"], ["commit", "-q", "-m", message]):
            subprocess.run(["git", *args], cwd=self.project, check=True, env=self.env)

    def app_tag(self) -> str:
        lines = (self.project / ".env").read_text().splitlines()
        return [line.split("=", 1)[1] for line in lines if line.startswith("APP_TAG=")][-1]


def image_id(reference: str) -> str:
    return buildah("inspect", "--type", "image", "--format", "{{.FromImageID}}", reference)


def serving_image(record: dict[str, Any]) -> str:
    return buildah("inspect", "--type", "container", "--format", "{{.FromImageID}}", record["id"])


def ready(record: dict[str, Any]) -> int:
    return httpx.get(f"http://127.0.0.1:{record['port']}/health/ready", timeout=10).status_code


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    root = tmp_path_factory.mktemp("image-deploy")
    project = root / "acme"
    rendered = render(project, {"project_name": "Acme Support", "run_bootstrap": "false"})
    assert rendered.returncode == 0, rendered.stderr
    subprocess.run([UV, "lock", "-q"], cwd=project, env=clean_env(), check=True, timeout=600)
    for base in ensure_bases(dockerfile_bases(project / "Dockerfile"), root):
        print(base.describe())

    server = database_server()
    database = f"acme_deploy_{uuid.uuid4().hex[:8]}"
    execute(asyncpg_dsn(server), f'CREATE DATABASE "{database}"')
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{REPO / "tests" / "docker_on_buildah.py"}" "$@"\n'
    )
    (bin_dir / "docker").chmod(0o755)
    unreachable = "http://127.0.0.1:9"  # HiAgent is not needed to be ready (a soft check)
    (project / ".env").write_text(
        f"APP_ENV=prod\nAPP_IMAGE={IMAGE}\nAPI_REPLICAS=1\nWORKER_REPLICAS=1\n"
        "HIAGENT_ADMIN_USERNAME=admin\n"
        f"VOLC_ACCESSKEY=deploy-access-key\nVOLC_SECRETKEY=deploy-secret-key\n"
        f"HIAGENT_TOP_ENDPOINT={unreachable}\n"
        f"HIAGENT_APP_BASE_URL={unreachable}/api/proxy/api/v1\n"
    )
    # The machine's PostgreSQL (a database of this run) and Redis stand in for compose's.
    machine = {
        "DATABASE_URL": server.rsplit("/", 1)[0] + f"/{database}",
        "REDIS_HOST": os.environ.get("REDIS_HOST", "127.0.0.1"),
        "REDIS_PORT": os.environ.get("REDIS_PORT", "6379"),
        "REDIS_PASSWORD": None,
        "REDIS_NAMESPACE": database,
    }
    workdir = root / "shim"
    workdir.mkdir()
    state = workdir / "state.json"
    env = {
        **clean_env(),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "DOCKER_SHIM_STATE": str(state),
        "DOCKER_SHIM_WORKDIR": str(workdir),
        "DOCKER_SHIM_ENV": json.dumps(machine),
        "GIT_AUTHOR_NAME": "ci",
        "GIT_AUTHOR_EMAIL": "ci@example.invalid",
        "GIT_COMMITTER_NAME": "ci",
        "GIT_COMMITTER_EMAIL": "ci@example.invalid",
    }
    made = Host(project, env, state)
    made.commit("uv.lock")
    try:
        yield made
    finally:
        saved = json.loads(state.read_text())["containers"] if state.exists() else []
        for record in saved:
            stop(record["pid"], 0)
            Container.from_state(record["container"]).remove()
        for tag in ("v1", "v2", "v3"):
            buildah("rmi", f"{IMAGE}:{tag}", check=False)
        with suppress(Exception):
            execute(asyncpg_dsn(server), f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_deploy_releases_rolls_back_and_keeps_serving_through_a_broken_release(host: Host) -> None:
    first = host.deploy("--tag", "v1", "--no-backup")
    assert first.returncode == 0, first.stdout + first.stderr
    assert host.running() == [("api", "v1"), ("worker", "v1")]
    v1 = image_id(f"{IMAGE}:v1")
    assert all(serving_image(record) == v1 for record in host.containers())
    assert all(ready(record) == 200 for record in host.containers() if record["service"] == "api")

    runbook = next((host.project / "runbooks").glob("*.md"))
    runbook.write_text(runbook.read_text() + "\nRelease v2 added this line.\n")
    host.commit("v2: a runbook line")
    second = host.deploy("--tag", "v2", "--no-backup")
    assert second.returncode == 0, second.stdout + second.stderr
    assert host.running() == [("api", "v2"), ("worker", "v2")]
    v2 = image_id(f"{IMAGE}:v2")
    assert v2 != v1
    assert all(serving_image(record) == v2 for record in host.containers())
    assert (host.project / ".data/deploy/previous-tag").read_text().strip() == "v1"

    back = host.deploy("rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Rolling back from v2 to v1" in back.stdout
    assert host.running() == [("api", "v1"), ("worker", "v1")]
    assert all(serving_image(record) == v1 for record in host.containers())
    assert host.app_tag() == "v1"
    serving = {record["id"] for record in host.containers()}
    assert all(ready(record) == 200 for record in host.containers() if record["service"] == "api")

    app = next(host.project.glob("src/*/app.py"))
    app.write_text(
        app.read_text().replace(
            ") -> FastAPI:\n", ') -> FastAPI:\n    raise RuntimeError("v3 cannot start")\n', 1
        )
    )
    host.commit("v3: an API that cannot start")
    broken = host.deploy("--tag", "v3", "--no-backup", "--timeout", "90")
    assert broken.returncode != 0
    assert "the running release is untouched" in broken.stdout
    assert "v3 cannot start" in broken.stderr, broken.stderr[-3000:]
    assert {record["id"] for record in host.containers()} == serving
    assert host.app_tag() == "v1"
    assert all(ready(record) == 200 for record in host.containers() if record["service"] == "api")
    print(f"serving after the broken v3: {host.running()}")
