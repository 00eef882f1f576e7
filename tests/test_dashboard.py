"""The dashboard: the toggle, its sources, and the default profile in a real browser.

Fast checks render two profiles. The `slow` part bootstraps the default profile on PostgreSQL
(DATABASE_URL's server, or an embedded one), runs Vitest, serves the API with the HiAgent
emulator and runs the Playwright flows on Debian's Chromium (`/usr/bin/chromium`, or
CHROMIUM_PATH). Screenshots and the browser report are kept under `test-artifacts/dashboard/`.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import DEFAULT_PROFILE, REPO, UV, Profile, render
from .running_product import stop, wait_for_port

SLUG = "acme-support"
PACKAGE = "acme_support"
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
INITIAL_JS_BUDGET_GZIP = 300 * 1024
NO_DASHBOARD = Profile(True, "standalone", False, True)
# Words a product configurator should never have to read (blueprint: no technical jargon).
# The product holds the list (modules/dashboard/plain_words.py): its own test applies it to the
# text the backend sends the dashboard; this one applies it to the dashboard's copy.
_WORDS_SOURCE = (
    REPO
    / "template"
    / "src"
    / "{{package_name}}"
    / "modules"
    / "{% if with_dashboard %}dashboard{% endif %}"
    / "plain_words.py"
)
_words: dict[str, object] = {}
exec(compile(_WORDS_SOURCE.read_text(), str(_WORDS_SOURCE), "exec"), _words)  # noqa: S102
JARGON: re.Pattern[str] = _words["JARGON"]  # type: ignore[assignment]
# Text that reads as a sentence or a label: a capital letter first, words with spaces.
PROSE = re.compile(r"^[A-Z\u201c\"][^<>{}=;()]*\s[^<>{}=;()]*$")


def files_of(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]


@pytest.fixture(scope="module")
def with_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("dashboard") / "acme"
    result = render(
        destination,
        {
            **DEFAULT_PROFILE.data(),
            "project_name": "Acme Support",
            "project_slug": SLUG,
            "package_name": PACKAGE,
        },
    )
    assert result.returncode == 0, result.stderr
    return destination


@pytest.fixture(scope="module")
def without_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("no-dashboard") / "acme"
    result = render(destination, NO_DASHBOARD.data())
    assert result.returncode == 0, result.stderr
    return destination


def test_turned_off_leaves_no_node_files_build_stage_or_module(without_dashboard: Path) -> None:
    assert not (without_dashboard / "dashboard").exists()
    node_files = [
        str(p.relative_to(without_dashboard))
        for p in files_of(without_dashboard)
        if p.name in ("package.json", "package-lock.json") or p.suffix in (".ts", ".tsx")
    ]
    assert node_files == []
    assert not list(without_dashboard.glob("src/*/modules/dashboard"))
    dockerfile = without_dashboard / "Dockerfile"
    if dockerfile.exists():
        assert "npm" not in dockerfile.read_text()


def test_sources_are_plain_and_ship_without_build_output(with_dashboard: Path) -> None:
    dashboard = with_dashboard / "dashboard"
    package = json.loads((dashboard / "package.json").read_text())
    assert {"build", "test", "api", "e2e"} <= set(package["scripts"])
    assert (dashboard / "package-lock.json").is_file()
    for leftover in ("node_modules", "dist", "test-results", "playwright-report"):
        assert not (dashboard / leftover).exists(), leftover


def _ui_sources(project: Path) -> list[Path]:
    source = project / "dashboard" / "src"
    return [
        p
        for p in source.rglob("*.ts*")
        if ".test." not in p.name
        and "test" not in p.relative_to(source).parts
        and p.name != "schema.d.ts"
    ]


def test_every_call_goes_through_the_one_generated_client(with_dashboard: Path) -> None:
    calls = [
        str(p)
        for p in _ui_sources(with_dashboard)
        if re.search(r"\bfetch\(", p.read_text()) and p.parent.name != "api"
    ]
    assert calls == []


def _visible_text(source: str) -> list[str]:
    # String literals and JSX text: what can end up on screen (class names are harmless here).
    literals = re.findall(r"'([^'\n]*)'|\"([^\"\n]*)\"|`([^`]*)`", source)
    strings = [next(part for part in match if part) for match in literals if any(match)]
    jsx_text = re.findall(r">\s*([^<>{}\n][^<>{}]*?)\s*<", source)
    return [text for text in strings + jsx_text if PROSE.match(text.strip())]


def test_the_copy_has_no_technical_jargon(with_dashboard: Path) -> None:
    found = []
    for path in _ui_sources(with_dashboard):
        for text in _visible_text(path.read_text()):
            match = JARGON.search(text)
            if match:
                found.append(f"{path.name}: {match.group(0)!r} in {text[:80]!r}")
    assert found == []


# The default profile in a browser.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    return {**env, "APP_ENV": "dev", **extra}


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args} exited early"
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def run(
    project: Path, *args: str, env: dict[str, str], timeout: float = 900, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args),
        cwd=cwd or project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(args)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def database_helper(project: Path, env: dict[str, str], call: str) -> str:
    """Run one of the project's own test-database helpers; returns what it prints."""
    script = (
        "import asyncio\n"
        f"from {PACKAGE}.testing.database import create_test_database, drop_test_database\n"
        f"print(asyncio.run({call}))\n"
    )
    result = run(project, UV, "run", "--no-sync", "python", "-c", script, env=env)
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def bootstrapped(with_dashboard: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The default profile installed, migrated, with an admin and a built dashboard."""
    project = with_dashboard
    env = clean_env()
    server = os.environ.get("DATABASE_URL")
    run(project, UV, "sync", "-q", env=env)
    if server:
        # A fresh database next to DATABASE_URL's; the named database is never touched.
        env["DATABASE_URL"] = database_helper(project, env, f"create_test_database({server!r})")
    try:
        started = time.monotonic()
        first = run(project, UV, "run", "--no-sync", SLUG, "bootstrap", env=env)
        assert "Dashboard built" in first.stdout, first.stdout
        print(f"bootstrap with the dashboard build: {time.monotonic() - started:.1f} s")
        again = run(project, UV, "run", "--no-sync", SLUG, "bootstrap", env=env)
        assert "Dashboard is up to date" in again.stdout, again.stdout
        yield project, env
    finally:
        if server:
            database_helper(project, env, f"drop_test_database({env['DATABASE_URL']!r})")


def initial_javascript_gzip(dist: Path) -> dict[str, int]:
    index = (dist / "index.html").read_text()
    scripts = re.findall(r'<script[^>]+src="/([^"]+\.js)"', index)
    preloads = re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/([^"]+\.js)"', index)
    return {name: len(gzip.compress((dist / name).read_bytes(), 9)) for name in scripts + preloads}


@pytest.mark.slow
def test_initial_javascript_stays_under_300_kb_gzipped(
    bootstrapped: tuple[Path, dict[str, str]],
) -> None:
    project, _ = bootstrapped
    sizes = initial_javascript_gzip(project / "dashboard" / "dist")
    print("initial JavaScript (gzip bytes):", sizes)
    assert sizes
    assert sum(sizes.values()) < INITIAL_JS_BUDGET_GZIP


@pytest.mark.slow
def test_component_tests_pass(bootstrapped: tuple[Path, dict[str, str]]) -> None:
    project, env = bootstrapped
    result = run(project, "npm", "test", "--silent", env=env, cwd=project / "dashboard")
    print(result.stdout[-1500:])


@pytest.fixture(scope="module")
def backend(bootstrapped: tuple[Path, dict[str, str]]) -> Iterator[tuple[str, dict[str, str]]]:
    """The API serving the dashboard, talking to the HiAgent emulator; stopped by pid."""
    project, env = bootstrapped
    emulator_port, api_port = free_port(), free_port()
    scenarios = project / "dashboard" / "e2e" / "emulator-scenarios.json"
    emulator = subprocess.Popen(
        [
            UV,
            "run",
            "--no-sync",
            SLUG,
            "hiagent",
            "emulator",
            "--port",
            str(emulator_port),
            "--scenarios",
            str(scenarios),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    api_env = {
        **env,
        "HIAGENT_TOP_ENDPOINT": f"http://127.0.0.1:{emulator_port}",
        "HIAGENT_APP_BASE_URL": f"http://127.0.0.1:{emulator_port}/api/proxy/api/v1",
        "VOLC_ACCESSKEY": "e2e-access-key",
        "VOLC_SECRETKEY": "e2e-secret-key",
    }
    command = (
        ["serve", "--host", "127.0.0.1", "--port", str(api_port)]
        if "DATABASE_URL" in env
        else ["dev", "--no-reload", "--port", str(api_port)]
    )
    log = ARTIFACTS / "backend.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        api = subprocess.Popen(
            [UV, "run", "--no-sync", SLUG, *command],
            cwd=project,
            env=api_env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_for_port(emulator_port, emulator)
        wait_for(f"http://127.0.0.1:{api_port}/health/ready", api)
        yield f"http://127.0.0.1:{api_port}", api_env
    finally:
        stop(api)
        stop(emulator)


@pytest.mark.slow
def test_the_dashboard_is_served_at_the_root(backend: tuple[str, dict[str, str]]) -> None:
    base, _ = backend
    for path in ("/", "/agents/1/history"):
        with urllib.request.urlopen(f"{base}{path}", timeout=5) as response:  # noqa: S310
            assert response.status == 200
            assert "<title>Acme Support</title>" in response.read().decode()
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.slow
def test_browser_flows_pass_with_no_accessibility_problems(
    bootstrapped: tuple[Path, dict[str, str]], backend: tuple[str, dict[str, str]]
) -> None:
    project, _ = bootstrapped
    base, env = backend
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (or set CHROMIUM_PATH)")
    password = next(
        line.split("=", 1)[1]
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("HIAGENT_ADMIN_PASSWORD=")
    )
    shutil.rmtree(ARTIFACTS / "screenshots", ignore_errors=True)
    result = subprocess.run(
        ["npx", "playwright", "test"],
        cwd=project / "dashboard",
        env={
            **env,
            "E2E_BASE_URL": base,
            "E2E_USERNAME": "admin",
            "E2E_PASSWORD": password,
            "E2E_ARTIFACTS_DIR": str(ARTIFACTS),
            "CHROMIUM_PATH": chromium,
            "CI": "1",
        },
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert list((ARTIFACTS / "screenshots").glob("*.png"))
