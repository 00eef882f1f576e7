"""The product's real image: built from its Dockerfile and run, with buildah (no Docker engine).

For the default answers and for the worker-off, dashboard-off profile: render, `uv lock`, build
the rendered Dockerfile with buildah (registry bases when they can be pulled, stand-ins made
here otherwise: tests/buildah.py), then run the image's own command against the machine's
PostgreSQL and Redis, in a database of its own that is dropped afterwards: `bootstrap` through
the image's entry, `serve`, and `worker` in the worker profile, each in a read-only container
as compose.yaml runs them. `-rP` prints the bases, build times, image sizes and run times.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from .buildah import (
    Base,
    Build,
    Container,
    Process,
    build,
    dockerfile_bases,
    ensure_bases,
    ids_of,
    image_config,
)
from .conftest import UV, render
from .running_product import asyncpg_dsn, database_server, free_port, wait_for_port

pytestmark = pytest.mark.slow

SLUG = "acme-support"
API = "/api/v1"
PROFILES = {
    "default": {},
    "no-worker-no-dashboard": {"with_worker": "false", "with_dashboard": "false"},
}
# Writes to these must fail in a container of the image; the data volume and /tmp must work.
IMAGE_DIRS = ["/", "/app", "/app/.venv/lib", "/etc", "/usr/local/lib", "/var/lib", "/home"]
WRITE_PROBE = """
import errno, json, os, sys
outcome = {}
for folder in sys.argv[1:]:
    path = os.path.join(folder, ".write-probe")
    try:
        with open(path, "w") as probe:
            probe.write("x")
        os.remove(path)
        outcome[folder] = "written"
    except OSError as exc:
        outcome[folder] = errno.errorcode.get(exc.errno, str(exc.errno))
print(json.dumps(outcome))
"""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DATABASE_URL")}


def execute(dsn: str, statement: str) -> None:
    async def go() -> None:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(go())


@dataclass
class Image:
    """A rendered profile, its built image and what compose.yaml says about running it."""

    profile: str
    project: Path
    tag: str
    build: Build
    config: dict[str, Any]
    answers: dict[str, str]

    @property
    def entry(self) -> list[str]:
        """What the image runs: ENTRYPOINT + CMD."""
        return [*(self.config.get("Entrypoint") or []), *(self.config.get("Cmd") or [])]

    @property
    def with_worker(self) -> bool:
        return self.answers.get("with_worker", "true") == "true"

    @property
    def with_dashboard(self) -> bool:
        return self.answers.get("with_dashboard", "true") == "true"

    def api_service(self) -> dict[str, Any]:
        service: dict[str, Any] = yaml.safe_load((self.project / "compose.yaml").read_text())[
            "services"
        ]["api"]
        return service

    def data_path(self) -> str:
        """The container path of the app's volume in compose.yaml (`spill:/app/.data`)."""
        volume = next(v for v in self.api_service()["volumes"] if isinstance(v, str))
        return str(volume.split(":")[1])

    def declared_user(self) -> tuple[int, int]:
        """The last USER of the Dockerfile, as numbers."""
        users = re.findall(r"^USER\s+(\S+)", (self.project / "Dockerfile").read_text(), re.M)
        uid, _, gid = users[-1].partition(":")
        return int(uid), int(gid or uid)


@pytest.fixture(scope="module")
def bases_made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Base]:
    """Bases checked so far in this run (each is pulled or made once)."""
    assert shutil.which("buildah"), (
        "buildah is missing: .ci/run installs it (apt-get install buildah)"
    )
    assert os.geteuid() == 0, "building and running with buildah's chroot isolation needs root"
    return {}


@pytest.fixture(scope="module", params=list(PROFILES))
def image(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    bases_made: dict[str, Base],
) -> Image:
    profile: str = request.param
    root = tmp_path_factory.mktemp(f"image-{profile}")
    answers = {"project_name": "Acme Support", "run_bootstrap": "false", **PROFILES[profile]}
    rendered = render(root / "acme", answers)
    assert rendered.returncode == 0, rendered.stderr
    project = root / "acme"
    started = time.monotonic()
    subprocess.run([UV, "lock", "-q"], cwd=project, env=clean_env(), check=True, timeout=600)
    print(f"[{profile}] uv lock: {time.monotonic() - started:.0f} s")

    missing = [name for name in dockerfile_bases(project / "Dockerfile") if name not in bases_made]
    started = time.monotonic()
    for base in ensure_bases(missing, root):
        bases_made[base.name] = base
    if missing:
        print(f"[{profile}] bases ready in {time.monotonic() - started:.0f} s:")
    for name in dockerfile_bases(project / "Dockerfile"):
        print(f"[{profile}]   {bases_made[name].describe()}")

    tag = f"localhost/hiagent-template-image/{SLUG}:{profile}"
    built = build(project, tag)
    assert built.returncode == 0, built.log[-6000:]
    print(f"[{profile}] {built.describe()}")
    return Image(profile, project, tag, built, image_config(tag), answers)


@dataclass
class Stack:
    """The image's processes against the machine's PostgreSQL and Redis."""

    image: Image
    env: dict[str, str]
    api_url: str
    api: Process
    api_container: Container
    bootstrap: subprocess.CompletedProcess[str]
    emulator_url: str
    worker: Process | None = None
    worker_metrics_url: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def wait_ready(url: str, process: Process, seconds: float) -> None:
    deadline, last = time.monotonic() + seconds, "no answer"
    while time.monotonic() < deadline:
        assert process.popen.poll() is None, f"serve exited:\n{process.log_tail()}"
        try:
            response = httpx.get(f"{url}/health/ready", timeout=3)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    pytest.fail(f"/health/ready not 200 after {seconds} s ({last}):\n{process.log_tail()}")


@pytest.fixture(scope="module")
def stack(image: Image, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(f"run-{image.profile}")
    server = database_server()
    database = f"acme_image_{uuid.uuid4().hex[:8]}"
    server_dsn = asyncpg_dsn(server)
    execute(server_dsn, f'CREATE DATABASE "{database}"')
    data = workdir / "data"
    data.mkdir()
    os.chown(data, *image.declared_user())
    service = image.api_service()
    containers: list[Container] = []

    def container() -> Container:
        made = Container.create(
            image.tag, workdir, tmpfs=list(service["tmpfs"]), volumes={image.data_path(): data}
        )
        containers.append(made)
        return made

    program = image.entry[0]
    emulator_port, api_port, metrics_port = free_port(), free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = {
        "DATABASE_URL": server.rsplit("/", 1)[0] + f"/{database}",
        "HIAGENT_JWT_SECRET": uuid.uuid4().hex * 2,
        "HIAGENT_ADMIN_USERNAME": "admin",
        "HIAGENT_ADMIN_PASSWORD": "Adm-" + uuid.uuid4().hex,
        "VOLC_ACCESSKEY": "image-access-key",
        "VOLC_SECRETKEY": "image-secret-key",
        "HIAGENT_TOP_ENDPOINT": emulator_url,
        "HIAGENT_APP_BASE_URL": f"{emulator_url}/api/proxy/api/v1",
        "REDIS_HOST": os.environ.get("REDIS_HOST", "127.0.0.1"),
        "REDIS_PORT": os.environ.get("REDIS_PORT", "6379"),
        "REDIS_NAMESPACE": database,  # keys of this run only: the Redis may be shared
    }
    timings: dict[str, float] = {}
    try:
        emulator = container().start(
            [program, "hiagent", "emulator", "--port", str(emulator_port)],
            env,
            workdir / "emulator.log",
        )
        wait_for_port(emulator_port, emulator.popen, 60)

        started = time.monotonic()
        bootstrap = container().run([program, "bootstrap"], env, timeout=300)
        timings["bootstrap (migrations, admin)"] = time.monotonic() - started
        assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr

        started = time.monotonic()
        api_container = container()
        # The image's CMD as it is; the host network has no port mapping, so it gets its own.
        api = api_container.start(
            [*image.entry, "--host", "127.0.0.1", "--port", str(api_port)],
            env,
            workdir / "serve.log",
        )
        api_url = f"http://127.0.0.1:{api_port}"
        wait_ready(api_url, api, 120)
        timings["serve: start to /health/ready 200"] = time.monotonic() - started
        ready = Stack(image, env, api_url, api, api_container, bootstrap, emulator_url)

        if image.with_worker:
            started = time.monotonic()
            ready.worker = container().start(
                [program, "worker"],
                {**env, "WORKER_METRICS_PORT": str(metrics_port)},
                workdir / "worker.log",
            )
            wait_for_port(metrics_port, ready.worker.popen, 120)
            ready.worker_metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            timings["worker: start to /metrics"] = time.monotonic() - started
        ready.timings = timings
        yield ready
    finally:
        started = time.monotonic()
        for made in reversed(containers):
            made.close()
        with suppress(Exception):
            execute(server_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        timings["stop and remove the containers"] = time.monotonic() - started
        for step, seconds in timings.items():
            print(f"[{image.profile}] {step}: {seconds:.1f} s")


def sign_in(stack: Stack) -> dict[str, str]:
    response = httpx.post(
        f"{stack.api_url}{API}/auth/login",
        data={"username": "admin", "password": stack.env["HIAGENT_ADMIN_PASSWORD"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --- The image ---------------------------------------------------------------------------------


def test_the_image_is_what_the_dockerfile_declares(image: Image) -> None:
    uid, gid = image.declared_user()
    assert image.config["User"] == f"{uid}:{gid}"
    assert uid != 0
    assert image.entry[:2] == [SLUG, "serve"], image.entry
    env = dict(item.split("=", 1) for item in image.config["Env"])
    assert env["APP_ENV"] == "prod"
    print(f"[{image.profile}] user {image.config['User']}, runs {image.entry}")


def test_a_render_without_uv_lock_fails_the_build_at_once_saying_what_to_run(
    image: Image, tmp_path: Path
) -> None:
    # A fresh render with run_bootstrap=false has no uv.lock; the Dockerfile needs one.
    project = tmp_path / "no-lock"
    shutil.copytree(image.project, project, ignore=shutil.ignore_patterns("uv.lock", ".git"))
    failed = build(project, f"{image.tag}-no-lock")
    print(f"[{image.profile}] without uv.lock the build stops after {failed.seconds:.1f} s")
    assert failed.returncode != 0
    assert "uv.lock is missing: run 'uv lock' in the project, commit uv.lock" in failed.log
    assert failed.seconds < 120, "the check must come before dependencies or the dashboard build"
    assert "npm ci" not in failed.log.split("uv.lock is missing")[0]


# --- The image running -------------------------------------------------------------------------


def test_bootstrap_through_the_image_migrates_and_creates_the_admin_once(stack: Stack) -> None:
    first = stack.bootstrap.stdout
    assert "Database migrated" in first
    assert "Admin created" in first
    again = stack.api_container.run([stack.image.entry[0], "bootstrap"], stack.env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already exists" in again.stdout


def test_serve_is_ready_on_the_machines_database_and_redis(stack: Stack) -> None:
    response = httpx.get(f"{stack.api_url}/health/ready", timeout=10)
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert ("redis" in checks) == stack.image.with_worker
    if stack.image.with_worker:
        assert checks["redis"]["ok"] is True


def test_the_dashboard_is_served_from_the_image_only_when_chosen(stack: Stack) -> None:
    page = httpx.get(f"{stack.api_url}/", timeout=10)
    if not stack.image.with_dashboard:
        assert page.status_code == 404, page.text[:300]
        assert "<html" not in page.text
        return
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<div id="root">' in page.text
    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', page.text)
    assert scripts, page.text[:500]
    script = httpx.get(f"{stack.api_url}{scripts[0]}", timeout=10)
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    print(f"[{stack.image.profile}] dashboard: / and {scripts[0]} ({len(script.content)} bytes)")


def test_every_process_runs_as_the_user_the_dockerfile_declares(stack: Stack) -> None:
    uid, gid = stack.image.declared_user()
    processes = {"serve": stack.api}
    if stack.worker is not None:
        processes["worker"] = stack.worker
    for role, process in processes.items():
        pids = process.image_pids()
        assert pids, f"no {role} process under buildah run:\n{process.log_tail()}"
        for pid in pids:
            assert ids_of(pid) == ([uid] * 4, [gid] * 4), (role, pid)
        print(f"[{stack.image.profile}] {role}: {len(pids)} process(es), uid {uid}, gid {gid}")


def test_the_root_filesystem_is_read_only_but_for_the_data_volume_and_tmp(stack: Stack) -> None:
    container = stack.api_container
    if not container.read_only:
        pytest.skip(
            f"this machine cannot make the container read-only: {container.read_only_problem}"
        )
    data = stack.image.data_path()
    expected = {**dict.fromkeys(IMAGE_DIRS, "EROFS"), **dict.fromkeys(container.tmpfs, "written")}
    # The image's user writes its volume; root, with every capability dropped as compose.yaml
    # does, may not write there either (EACCES: the volume is not world-writable).
    for user, on_volume in ((None, "written"), ("0:0", "EACCES")):
        probe = container.run(["python", "-c", WRITE_PROBE, *expected, data], {}, user=user)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        outcome = json.loads(probe.stdout)
        print(f"[{stack.image.profile}] writes as {user or 'the image user'}: {outcome}")
        assert outcome == {**expected, data: on_volume}
    print(
        f"[{stack.image.profile}] /run is a root-owned host directory (buildah writes its "
        "/run/.containerenv there at each run): see tests/buildah.py, Container"
    )


def test_a_task_runs_through_the_images_worker(stack: Stack) -> None:
    program = stack.image.entry[0]
    if stack.worker is None:
        absent = stack.api_container.run([program, "worker"], stack.env)
        assert absent.returncode != 0
        assert "No such command" in absent.stdout + absent.stderr
        return
    headers = sign_in(stack)
    created = httpx.post(
        f"{stack.api_url}{API}/agent-configs",
        json={"name": "image-check", "app_key": "app-image-check"},
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    started = time.monotonic()
    submitted = httpx.post(
        f"{stack.api_url}{API}/agents/image-check/tasks",
        json={"query": "Where is my order?"},
        headers=headers,
        timeout=30,
    )
    assert submitted.status_code == 202, submitted.text
    task = submitted.json()
    assert task["inline"] is False, "queued for the worker, not run by the API"
    deadline = time.monotonic() + 90
    while task["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        task = httpx.get(f"{stack.api_url}{task['status_url']}", headers=headers, timeout=30).json()
    assert stack.worker is not None
    assert task["status"] == "succeeded", f"{task}\n{stack.worker.log_tail()}"
    assert task["result"]["answer"], task
    print(
        f"[{stack.image.profile}] task {task['task_id']} succeeded in the worker after "
        f"{time.monotonic() - started:.1f} s"
    )

    assert stack.worker_metrics_url is not None
    metrics = httpx.get(stack.worker_metrics_url, timeout=10).text
    runs = re.search(r'^task_duration_seconds_count\{task_type="agent"\} (\S+)$', metrics, re.M)
    assert runs, metrics[-2000:]
    assert float(runs.group(1)) >= 1
    calls = httpx.get(f"{stack.emulator_url}/_emulator/requests", timeout=10).json()
    assert any(call["app_key"] == "app-image-check" for call in calls), calls
