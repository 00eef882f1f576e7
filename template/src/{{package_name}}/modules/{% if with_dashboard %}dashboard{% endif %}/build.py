"""Build the dashboard when its output is missing or older than its sources.

A build is stamped with a hash of the sources (`dist/.build-stamp`); an install with a hash of
the lockfile (`node_modules/.install-stamp`). Both are redone only when the hash changes, so
`dev` restarts stay fast and a `git checkout` that touches nothing real rebuilds nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .settings import DashboardSettings

BUILD_STAMP = ".build-stamp"
INSTALL_STAMP = ".install-stamp"
NODE_HELP = (
    "Node.js 20.19 or newer (with npm) builds the dashboard: install it from "
    "https://nodejs.org/en/download (or your package manager), then rerun. "
    "To run only the API without a dashboard, set DASHBOARD_BUILD=false."
)
# Folders that do not feed the build: dependencies, outputs, browser tests and their results.
_NOT_SOURCES = frozenset(
    {"node_modules", "dist", "e2e", "test-results", "playwright-report", "test-artifacts"}
)


class DashboardBuildError(RuntimeError):
    """The dashboard could not be built; the message says what to do."""


@dataclass(frozen=True)
class BuildResult:
    """What `ensure_built` did: `built`, `installed`, or neither when up to date."""

    installed: bool
    built: bool
    skipped_reason: str | None = None


def _source_files(project: Path) -> Iterator[Path]:
    for path in sorted(project.iterdir()):
        if path.name.startswith(".") or path.name in _NOT_SOURCES:
            continue
        if path.is_dir():
            yield from _source_files(path)
        elif ".test." not in path.name:
            yield path


def source_hash(project: Path) -> str:
    """A hash of everything the build reads: sources, config, lockfile."""
    digest = hashlib.sha256()
    for path in _source_files(project):
        digest.update(path.relative_to(project).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _lock_hash(project: Path) -> str:
    return hashlib.sha256((project / "package-lock.json").read_bytes()).hexdigest()


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def is_built(project: Path, dist: Path) -> bool:
    """True when `dist` holds a build of the current sources."""
    return (dist / "index.html").is_file() and _read(dist / BUILD_STAMP) == source_hash(project)


def _node_version(node: str) -> tuple[int, int]:
    # The node found on PATH, fixed arguments, no shell.
    result = subprocess.run(  # noqa: S603
        [node, "--version"], capture_output=True, text=True, check=False
    )
    match = re.match(r"v(\d+)\.(\d+)", result.stdout.strip())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _npm() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise DashboardBuildError(f"Node.js is not installed. {NODE_HELP}")
    major, minor = _node_version(node)
    # Vite needs ^20.19 or >=22.12 (21 and early 22 lack APIs it uses).
    if not ((major == 20 and minor >= 19) or (major == 22 and minor >= 12) or major >= 23):
        found = f"{major}.{minor}"
        raise DashboardBuildError(f"Node.js {found} is too old for the dashboard. {NODE_HELP}")
    return npm


def _run(npm: str, args: list[str], project: Path, what: str, dist: Path) -> None:
    # vite.config.ts and the compression step read the output folder from this variable.
    env = {**os.environ, "DASHBOARD_DIST_DIR": str(dist.resolve())}
    result = subprocess.run(  # noqa: S603 - npm from PATH with our fixed arguments, no shell
        [npm, *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise DashboardBuildError(
            f"{what} failed (npm {' '.join(args)} in {project}, exit {result.returncode}):\n{tail}"
        )


def ensure_built(settings: DashboardSettings, *, say: bool = True) -> BuildResult:
    """Install dependencies and build when the output is missing or stale."""
    project = settings.dashboard_dir
    if not (project / "package.json").is_file():
        return BuildResult(False, False, f"no dashboard sources in {project}/")
    dist = settings.dist_dir
    if is_built(project, dist):
        return BuildResult(False, False)
    if not settings.dashboard_build:
        return BuildResult(False, False, "DASHBOARD_BUILD=false")
    npm = _npm()
    installed = False
    modules = project / "node_modules"
    if _read(modules / INSTALL_STAMP) != _lock_hash(project):
        if say:
            print("• Installing the dashboard's packages (npm ci, about a minute)", flush=True)
        _run(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], project, "npm ci", dist)
        (modules / INSTALL_STAMP).write_text(_lock_hash(project) + "\n", encoding="utf-8")
        installed = True
    if say:
        print("• Building the dashboard", flush=True)
    stamp = source_hash(project)
    _run(npm, ["run", "build"], project, "npm run build", dist)
    if not (dist / "index.html").is_file():
        raise DashboardBuildError(f"The build finished but {dist}/index.html is missing.")
    (dist / BUILD_STAMP).write_text(stamp + "\n", encoding="utf-8")
    return BuildResult(installed, True)


def prepare() -> None:
    """The module's `prepare` hook: build if needed and say what happened."""
    settings = DashboardSettings()
    result = ensure_built(settings)
    if result.skipped_reason:
        print(f"• Dashboard build skipped: {result.skipped_reason}", flush=True)
    elif result.built:
        print(f"• Dashboard built into {settings.dist_dir}/", flush=True)
    else:
        print("• Dashboard is up to date", flush=True)
