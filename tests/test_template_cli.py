"""The scaffolding CLI: `hiagent-template new | update | doctor`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hiagent_template.cli import app, conflicts

runner = CliRunner()


def test_new_renders_a_product(tmp_path: Path) -> None:
    target = tmp_path / "shop"
    result = runner.invoke(
        app,
        [
            "new",
            str(target),
            "--defaults",
            "--project-name",
            "Shop Helper",
            "--data",
            "run_bootstrap=false",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (target / "src" / "shop_helper" / "app.py").exists()


def test_new_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["new", str(tmp_path), "--defaults"])
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_conflicts_are_found_from_markers_and_rej_files(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "clean.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text(
        "<<<<<<< before updating\nmine\n=======\ntheirs\n>>>>>>> after updating\n"
    )
    (tmp_path / "app.py.rej").write_text("rejected hunk")
    assert conflicts(tmp_path) == ["README.md", "app.py.rej"]


def test_doctor_gives_a_verdict_per_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIAGENT_TOP_ENDPOINT", "https://open.example.com")
    monkeypatch.setenv("HIAGENT_APP_BASE_URL", "http://127.0.0.1:1/api/proxy/api/v1/")
    result = runner.invoke(app, ["doctor", str(tmp_path)])
    lines = result.output.splitlines()
    for name in ("Python", "uv", "git", "Node.js", "PostgreSQL", "Redis", "Answers file"):
        assert any(line[2:].startswith(name) for line in lines), (name, result.output)
    assert "no explicit port" in result.output
    assert "fix:" in result.output
    assert result.exit_code == 1
