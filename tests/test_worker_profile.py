"""The worker-off profile end to end: no Dramatiq or Redis anywhere, and its own suite passes.

Its suite runs on the embedded PostgreSQL, the quickstart's default (DATABASE_URL removed); the
default profile's suite (`test_generated_project.py`) runs on DATABASE_URL's server. CI covers both.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import UV, render

pytestmark = pytest.mark.slow
MENTIONS = re.compile(r"dramatiq|redis", re.IGNORECASE)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default answers but `with_worker=false`, installed."""
    destination = tmp_path_factory.mktemp("no-worker") / "acme"
    answers = {"project_name": "Acme Support", "with_worker": "false", "run_bootstrap": "false"}
    result = render(destination, answers)
    assert result.returncode == 0, result.stderr
    subprocess.run([UV, "sync", "-q"], cwd=destination, check=True, timeout=600, env=clean_env())
    return destination


def test_neither_files_nor_installed_packages_mention_dramatiq_or_redis(project: Path) -> None:
    hits = [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file()
        and not {".git", ".venv", "node_modules"} & set(path.parts)
        and MENTIONS.search(path.read_text(encoding="utf-8", errors="ignore"))
    ]
    assert hits == []
    installed = subprocess.run(
        [UV, "pip", "list", "--format=freeze"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout
    assert not MENTIONS.search(installed), installed


def test_the_generated_test_suite_passes_without_the_worker_on_the_embedded_database(
    project: Path,
) -> None:
    embedded = project / ".data" / "test-postgres"
    result = subprocess.run(
        # Its own temporary folder: the shared one keeps only the newest few sessions' folders.
        [
            UV,
            "run",
            "--no-sync",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={project.parent / 'suite-tmp'}",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={k: v for k, v in clean_env().items() if k != "DATABASE_URL"},
    )
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, tail + result.stderr[-3000:]
    assert " passed" in tail
    assert (embedded / "PG_VERSION").is_file(), "the suite did not use the embedded PostgreSQL"
