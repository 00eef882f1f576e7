"""Every supported profile renders to a clean, linted, type-checked project."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import all_profiles

PROFILE_IDS = [profile.id for profile in all_profiles()]
QUESTIONS = (
    "project_name|project_slug|package_name|description|author_name|author_email|"
    "python_version|with_worker|redis_mode|with_dashboard|with_example_module|"
    "admin_username|admin_email|run_bootstrap|_copier_conf|_copier_answers"
)
UNRENDERED = re.compile(
    r"\{\{\s*(" + QUESTIONS + r")\b|\{%-?\s*(if|elif|else|endif|for|endfor|raw|set)\b"
)


# Made by the tools run on the project (mypy's cache holds third-party code), not rendered.
NOT_RENDERED = frozenset({".git", ".venv", ".mypy_cache"})


def project_files(project: Path) -> list[Path]:
    return [
        path for path in project.rglob("*") if path.is_file() and not NOT_RENDERED & set(path.parts)
    ]


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_no_unrendered_jinja_survives(rendered: dict[str, Path], profile_id: str) -> None:
    project = rendered[profile_id]
    leftovers = []
    for path in project_files(project):
        if path.suffix == ".jinja":
            leftovers.append(f"{path}: .jinja suffix left")
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        for match in UNRENDERED.finditer(text):
            leftovers.append(f"{path}: {match.group(0)!r}")
        if "{{" in path.name or "{%" in path.name:
            leftovers.append(f"{path}: unrendered file name")
    assert leftovers == []


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_ruff_passes(rendered: dict[str, Path], profile_id: str) -> None:
    project = rendered[profile_id]
    check = subprocess.run(
        ["ruff", "check", "--no-cache", "."], cwd=project, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        ["ruff", "format", "--check", "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.parametrize("profile_id", PROFILE_IDS)
def test_mypy_passes(rendered: dict[str, Path], typing_env: Path, profile_id: str) -> None:
    project = rendered[profile_id]
    result = subprocess.run(
        [
            str(typing_env / "bin" / "mypy"),
            "--python-executable",
            str(typing_env / "bin" / "python"),
            "--cache-dir",
            str(project / ".mypy_cache"),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_worker_off_mentions_neither_dramatiq_nor_redis(rendered: dict[str, Path]) -> None:
    for profile_id, project in rendered.items():
        if not profile_id.startswith("no-worker"):
            continue
        hits = [
            str(path.relative_to(project))
            for path in project_files(project)
            if re.search(r"dramatiq|redis", path.read_text(encoding="utf-8", errors="ignore"), re.I)
        ]
        assert hits == [], f"{profile_id}: {hits}"


def test_answers_file_keeps_no_secret(rendered: dict[str, Path]) -> None:
    for project in rendered.values():
        answers = (project / ".copier-answers.yml").read_text()
        assert "password" not in answers.lower()
        assert "secret" not in answers.lower()
        assert "_src_path" in answers
