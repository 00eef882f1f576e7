"""Fixtures for the template's own tests: render profiles with Copier, run tools on them."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UV = shutil.which("uv") or "uv"


@dataclass(frozen=True)
class Profile:
    """One supported combination of the toggles."""

    with_worker: bool
    redis_mode: str | None
    with_dashboard: bool
    with_example_module: bool

    @property
    def id(self) -> str:
        worker = f"worker-{self.redis_mode}" if self.with_worker else "no-worker"
        dashboard = "dashboard" if self.with_dashboard else "no-dashboard"
        example = "example" if self.with_example_module else "no-example"
        return f"{worker}_{dashboard}_{example}"

    @property
    def package(self) -> str:
        return "p_" + self.id.replace("-", "_")

    def data(self) -> dict[str, str]:
        answers = {
            "project_name": self.package.replace("_", " "),
            "project_slug": self.package.replace("_", "-"),
            "package_name": self.package,
            "with_worker": str(self.with_worker).lower(),
            "with_dashboard": str(self.with_dashboard).lower(),
            "with_example_module": str(self.with_example_module).lower(),
            "run_bootstrap": "false",
        }
        if self.redis_mode is not None:
            answers["redis_mode"] = self.redis_mode
        return answers


def all_profiles() -> list[Profile]:
    """Every valid answer profile: worker (off, standalone, sentinel) x dashboard x example."""
    workers = [(False, None), (True, "standalone"), (True, "sentinel")]
    return [
        Profile(worker, mode, dashboard, example)
        for (worker, mode), dashboard, example in itertools.product(
            workers, [True, False], [True, False]
        )
    ]


DEFAULT_PROFILE = Profile(True, "standalone", True, True)


def copier_command(destination: Path, data: dict[str, str], *extra: str) -> list[str]:
    """`copier copy` of this working tree (HEAD plus uncommitted changes)."""
    args = [
        "copier",
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref=HEAD",
        "--quiet",
        *(f"--data={key}={value}" for key, value in data.items()),
        *extra,
        str(REPO),
        str(destination),
    ]
    return args


def render(destination: Path, data: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Render the template; returns the finished process (check `returncode`)."""
    return subprocess.run(
        copier_command(destination, data),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=300,
    )


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every profile rendered once per session, by profile id."""
    root = tmp_path_factory.mktemp("profiles")
    projects = {}
    for profile in all_profiles():
        destination = root / profile.id
        result = render(destination, profile.data())
        assert result.returncode == 0, f"{profile.id}: {result.stderr}"
        projects[profile.id] = destination
    return projects


@pytest.fixture(scope="session")
def typing_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with every optional dependency (the default profile's), for mypy."""
    destination = tmp_path_factory.mktemp("typing") / "project"
    result = render(destination, DEFAULT_PROFILE.data())
    assert result.returncode == 0, result.stderr
    subprocess.run([UV, "sync", "-q"], cwd=destination, check=True, timeout=600)
    return destination / ".venv"
