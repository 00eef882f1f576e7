"""The scaffolding CLI: `hiagent-template new | update | doctor`."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hiagent_template import cli
from hiagent_template.changelog import latest_version
from hiagent_template.cli import app, conflicts

from .conftest import REPO

runner = CliRunner()
CHANGELOG = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
GIT_ID = ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".nox", "node_modules", "__pycache__", ".*_cache", "site", "test-artifacts"
)
NEW_ENTRY = "- Agents answer in the customer's language."
NEW_SUBJECT = "Agents answer in the customer's language"


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


def test_new_prints_a_few_plain_lines_and_logs_the_rest(tmp_path: Path) -> None:
    # Not a terminal (a CI log, a pipe): no colour codes, no line per file created.
    target = tmp_path / "quiet"
    command = [sys.executable, "-c", "from hiagent_template.cli import main; main()"]
    args = ["new", str(target), "--defaults", "--data", "run_bootstrap=false"]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=300, check=False
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    assert "\x1b[" not in printed
    # stderr has Copier's warnings only (e.g. that a dirty template tree was used).
    assert not re.search(r"^\s*(create|identical|conflict)\s", result.stderr, re.MULTILINE)
    lines = result.stdout.splitlines()
    assert len(lines) <= 3, printed
    assert f"full output: {target / '.data' / 'new.log'}" in lines[0]
    assert lines[-1] == f"✓ Ready. Start it with: cd {target} && uv run my-ai-product dev"


def test_new_that_fails_leaves_no_folder_and_keeps_its_output(tmp_path: Path) -> None:
    target = tmp_path / "broken"
    command = [sys.executable, "-c", "from hiagent_template.cli import main; main()"]
    args = ["new", str(target), "--defaults", "--data", "project_slug=Not A Slug!"]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode != 0
    assert not target.exists()
    kept = Path(tempfile.gettempdir()) / "broken-new.log"
    assert f"nothing usable was left (output: {kept})" in result.stdout
    assert kept.is_file()


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


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def files_of(project: Path) -> dict[str, str]:
    """Every file of a product (outside .git) with a digest of its content."""
    return {
        str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


@pytest.fixture
def two_releases(tmp_path: Path) -> tuple[Path, Path]:
    """A template repository tagged v1.0.0 and v1.1.0, and a product rendered from v1.0.0."""
    template = tmp_path / "template"
    shutil.copytree(REPO, template, ignore=NOT_COPIED)
    git(template, "init", "-q", "-b", "main")
    git(template, "add", "-A")
    git(template, "commit", "-q", "--no-verify", "-m", "Template v1")
    git(template, "tag", "v1.0.0")

    project = tmp_path / "product"
    copy = subprocess.run(
        [
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--quiet",
            "--data",
            "run_bootstrap=false",
            "--vcs-ref=v1.0.0",
            str(template),
            str(project),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert copy.returncode == 0, copy.stderr

    changelog = template / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    section = f"## [1.1.0] - 2026-12-24\n\n### Changed\n\n{NEW_ENTRY}\n\n"
    assert "## [Unreleased]\n\n" in text
    changelog.write_text(text.replace("## [Unreleased]\n\n", section, 1), encoding="utf-8")
    readme = template / "template" / "README.md.jinja"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nAnswers in your language.\n")
    git(template, "commit", "-q", "--no-verify", "-am", NEW_SUBJECT)
    git(template, "tag", "v1.1.0")
    return template, project


def test_update_previews_the_changes_then_applies_them(
    two_releases: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, project = two_releases
    before = files_of(project)

    preview = runner.invoke(app, ["update", str(project), "--preview"])
    assert preview.exit_code == 0, preview.output
    assert "from:     v1.0.0" in preview.output
    assert "to:       v1.1.0" in preview.output
    assert "## [1.1.0] - 2026-12-24" in preview.output
    assert NEW_ENTRY in preview.output
    # The sections this repository has released are older than the test's v1.0.0.
    assert f"## [{latest_version(CHANGELOG)}]" not in preview.output
    assert NEW_SUBJECT in preview.output
    assert "template/README.md.jinja" in preview.output
    assert "nothing was changed" in preview.output
    assert files_of(project) == before

    monkeypatch.setattr(cli, "_interactive", lambda: True)
    declined = runner.invoke(app, ["update", str(project)], input="n\n")
    assert declined.exit_code == 0, declined.output
    assert NEW_ENTRY in declined.output
    assert "Apply this update?" in declined.output
    assert "Nothing was changed" in declined.output
    assert files_of(project) == before
    monkeypatch.undo()

    (project / "notes.txt").write_text("work in progress")
    refused = runner.invoke(app, ["update", str(project), "--yes"])
    assert refused.exit_code == 2
    assert "uncommitted changes" in refused.output
    (project / "notes.txt").unlink()

    applied = runner.invoke(app, ["update", str(project)])  # no terminal: shows, then applies
    assert applied.exit_code == 0, applied.output
    assert NEW_ENTRY in applied.output
    assert "Answers in your language." in (project / "README.md").read_text(encoding="utf-8")
    assert "_commit: v1.1.0" in (project / ".copier-answers.yml").read_text(encoding="utf-8")

    git(project, "add", "-A")
    git(project, "commit", "-q", "--no-verify", "-m", "update to v1.1.0")
    again = runner.invoke(app, ["update", str(project), "--preview"])
    assert again.exit_code == 0, again.output
    assert "already has this version" in again.output


def answers_file(project: Path, src_path: str, commit: str = "v1.0.0") -> Path:
    project.mkdir(parents=True, exist_ok=True)
    (project / ".copier-answers.yml").write_text(
        f"_commit: {commit}\n_src_path: {src_path}\nproject_name: Shop\n", encoding="utf-8"
    )
    return project


def refused(project: Path, *options: str) -> str:
    """The output of an update that stops with exit 2 and a message (no traceback)."""
    result = runner.invoke(app, ["update", str(project), "--preview", *options])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


def test_update_says_what_is_wrong_with_the_product_or_its_source(tmp_path: Path) -> None:
    assert ".copier-answers.yml is missing" in refused(tmp_path)
    gone = answers_file(tmp_path / "gone", str(tmp_path / "no-template"))
    assert "does not exist here" in refused(gone)
    (tmp_path / "plain").mkdir()
    untracked = answers_file(tmp_path / "untracked", str(tmp_path / "plain"))
    assert "is not a git repository" in refused(untracked)


def small_template(path: Path) -> Path:
    """A template history: v1.0.0, v1.1.0 (adds template/notes.txt), then an untagged commit."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")

    def release(changelog: str, message: str, tag: str | None) -> None:
        (path / "CHANGELOG.md").write_text(f"# Changelog\n\n{changelog}", encoding="utf-8")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", message)
        if tag:
            git(path, "tag", tag)

    first = "## [1.0.0] - 2026-01-01\n\n- First release.\n"
    release(f"## [Unreleased]\n\n{first}", "First release", "v1.0.0")
    (path / "template").mkdir()
    (path / "template" / "notes.txt").write_text("notes\n")
    second = f"## [1.1.0] - 2026-02-01\n\n- Notes for every product.\n\n{first}"
    release(f"## [Unreleased]\n\n{second}", "Ship notes", "v1.1.0")
    release(f"## [Unreleased]\n\n- Work in progress.\n\n{second}", "Start 1.2", None)
    git(path, "tag", "v2.0.0rc1", "v1.1.0")  # a prerelease: Copier does not pick it, nor do we
    return path


def test_update_previews_a_template_behind_a_git_url(tmp_path: Path) -> None:
    template = small_template(tmp_path / "template")
    project = answers_file(tmp_path / "product", f"file://{template}")

    newest = runner.invoke(app, ["update", str(project), "--preview"])
    assert newest.exit_code == 0, newest.output
    assert "to:       v1.1.0" in newest.output
    assert "- Notes for every product." in newest.output
    assert "First release." not in newest.output
    assert "Work in progress." not in newest.output
    assert "Ship notes" in newest.output
    assert "Start 1.2" not in newest.output
    assert "template/notes.txt" in newest.output

    head = runner.invoke(app, ["update", str(project), "--preview", "--vcs-ref", "HEAD"])
    assert head.exit_code == 0, head.output
    assert "## [Unreleased]" in head.output
    assert "- Work in progress." in head.output
    assert "Start 1.2" in head.output

    assert "v9.9.9 is not a tag, branch or commit" in refused(project, "--vcs-ref", "v9.9.9")


def test_update_names_an_unreachable_template_and_still_offers_the_update(
    tmp_path: Path,
) -> None:
    project = answers_file(tmp_path / "product", f"file://{tmp_path}/nowhere.git")
    result = runner.invoke(app, ["update", str(project), "--preview"])
    assert result.exit_code == 1
    assert f"could not clone file://{tmp_path}/nowhere.git" in result.output
    assert "the update can be applied unseen" in result.output
