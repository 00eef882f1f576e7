"""Questions: derived defaults, validators, and unsupported combinations refused clearly."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from .conftest import render


def test_defaults_derive_slug_and_package(tmp_path: Path) -> None:
    result = render(tmp_path / "p", {"project_name": "Acme Support", "run_bootstrap": "false"})
    assert result.returncode == 0, result.stderr
    pyproject = tomllib.loads((tmp_path / "p" / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "acme-support"
    assert pyproject["project"]["scripts"]["acme-support"] == "acme_support.cli:main"
    assert (tmp_path / "p" / "src" / "acme_support" / "app.py").exists()
    assert (tmp_path / "p" / ".git").is_dir()


def test_unicode_and_punctuation_in_the_name_still_give_valid_identifiers(tmp_path: Path) -> None:
    result = render(tmp_path / "p", {"project_name": "Café Helper 2!", "run_bootstrap": "false"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p" / "src" / "cafe_helper_2").is_dir()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_slug": "Bad Slug"}, "is not a valid slug"),
        ({"project_slug": "-lead"}, "is not a valid slug"),
        ({"package_name": "class"}, "is not a valid Python package name"),
        ({"package_name": "tests"}, "is not a valid Python package name"),
        ({"package_name": "9lives"}, "is not a valid Python package name"),
        ({"author_email": "nobody"}, "is not an e-mail address"),
        ({"admin_username": "a b"}, "is not a valid username"),
        ({"python_version": "2.7"}, "2.7"),
    ],
)
def test_invalid_answers_are_refused(tmp_path: Path, answers: dict[str, str], message: str) -> None:
    result = render(tmp_path / "p", {"run_bootstrap": "false", **answers})
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


def test_sentinel_without_worker_is_refused(tmp_path: Path) -> None:
    result = render(
        tmp_path / "p",
        {"with_worker": "false", "redis_mode": "sentinel", "run_bootstrap": "false"},
    )
    assert result.returncode != 0
    assert "redis_mode=sentinel needs with_worker=true" in result.stderr
