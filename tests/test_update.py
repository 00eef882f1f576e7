"""`copier update` pulls a newer template into a product without re-running copy-only tasks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow
GIT_ID = ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def snapshot_template(destination: Path) -> Path:
    """A git copy of this working tree, so tests can tag versions of it."""
    ignore = shutil.ignore_patterns(
        ".git", ".venv", ".nox", "node_modules", "__pycache__", ".*_cache"
    )
    shutil.copytree(REPO, destination, ignore=ignore)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "template v1")
    git(destination, "tag", "v1.0.0")
    return destination


def test_update_applies_changes_and_skips_copy_only_tasks(tmp_path: Path) -> None:
    template = snapshot_template(tmp_path / "template")
    project = tmp_path / "product"
    copy = subprocess.run(
        [
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--data",
            "run_bootstrap=false",
            "--data",
            "project_name=Acme Support",
            str(template),
            str(project),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert copy.returncode == 0, copy.stderr
    assert "v1.0.0" in (project / ".copier-answers.yml").read_text()

    readme = template / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nNew in v1.1: a line from the template.\n")
    git(template, "commit", "-qam", "template v1.1")
    git(template, "tag", "v1.1.0")

    update = subprocess.run(
        ["copier", "update", "--trust", "--defaults"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert update.returncode == 0, update.stderr
    assert "New in v1.1" in (project / "README.md").read_text()
    assert "v1.1.0" in (project / ".copier-answers.yml").read_text()
    assert "git repository created" not in update.stdout + update.stderr
    assert not (project / ".env").exists()
    assert not list(project.rglob("*.rej"))
    conflicts = subprocess.run(
        ["git", "diff", "--check"], cwd=project, capture_output=True, text=True, check=False
    )
    assert "conflict" not in conflicts.stdout
