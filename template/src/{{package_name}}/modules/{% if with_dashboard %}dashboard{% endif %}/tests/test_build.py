"""`prepare` builds the dashboard only when its output is missing or behind its sources.

A stand-in `npm` (a shell script) records what it was asked to do; the real build runs in the
template's browser tests.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ..build import BUILD_STAMP, DashboardBuildError, ensure_built
from ..settings import DashboardSettings

FAKE_NPM = """#!/bin/sh
echo "$*" >> "{log}"
case "$1" in
  ci) mkdir -p node_modules ;;
  run) [ -n "$FAIL_BUILD" ] && {{ echo "src/App.tsx(3,1): error TS1005"; exit 2; }}
       mkdir -p "$DASHBOARD_DIST_DIR/assets"
       echo "<html></html>" > "$DASHBOARD_DIST_DIR/index.html" ;;
esac
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def npm_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a fake `node` (v20.20.2) and `npm` first on PATH; returns the file npm logs to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "npm.log"
    _executable(bin_dir / "npm", FAKE_NPM.format(log=log))
    _executable(bin_dir / "node", "#!/bin/sh\necho v20.20.2\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.delenv("FAIL_BUILD", raising=False)
    return log


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A minimal dashboard project."""
    folder = tmp_path / "dashboard"
    (folder / "src").mkdir(parents=True)
    (folder / "e2e").mkdir()
    (folder / "package.json").write_text('{"name": "dashboard"}', encoding="utf-8")
    (folder / "package-lock.json").write_text('{"lockfileVersion": 3}', encoding="utf-8")
    (folder / "src" / "main.tsx").write_text("export {}", encoding="utf-8")
    (folder / "src" / "main.test.tsx").write_text("it('works')", encoding="utf-8")
    (folder / "e2e" / "flow.spec.ts").write_text("test('flow')", encoding="utf-8")
    return folder


def calls(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_builds_once_then_only_when_sources_change(project: Path, npm_log: Path) -> None:
    settings = DashboardSettings(dashboard_dir=project)
    first = ensure_built(settings, say=False)
    assert (first.installed, first.built) == (True, True)
    assert calls(npm_log) == ["ci --no-audit --no-fund --loglevel=error", "run build"]
    assert (project / "dist" / BUILD_STAMP).is_file()

    again = ensure_built(settings, say=False)
    assert (again.installed, again.built) == (False, False)

    # Tests and browser tests do not feed the build.
    (project / "src" / "main.test.tsx").write_text("it('changed')", encoding="utf-8")
    (project / "e2e" / "flow.spec.ts").write_text("test('changed')", encoding="utf-8")
    assert ensure_built(settings, say=False).built is False

    (project / "src" / "main.tsx").write_text("export const changed = 1", encoding="utf-8")
    rebuilt = ensure_built(settings, say=False)
    assert (rebuilt.installed, rebuilt.built) == (False, True)

    (project / "package-lock.json").write_text('{"lockfileVersion": 3, "x": 1}', encoding="utf-8")
    reinstalled = ensure_built(settings, say=False)
    assert (reinstalled.installed, reinstalled.built) == (True, True)
    assert len(calls(npm_log)) == 5


def test_builds_into_another_folder_when_told(project: Path, npm_log: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    settings = DashboardSettings(dashboard_dir=project, dashboard_dist_dir=target)
    assert ensure_built(settings, say=False).built
    assert (target / "index.html").is_file()
    assert not (project / "dist").exists()


def test_without_node_the_error_says_what_to_install(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(DashboardBuildError) as caught:
        ensure_built(DashboardSettings(dashboard_dir=project), say=False)
    message = str(caught.value)
    assert "Node.js is not installed" in message
    assert "nodejs.org" in message
    assert "DASHBOARD_BUILD=false" in message


def test_an_old_node_is_named(project: Path, npm_log: Path) -> None:
    node = Path(os.environ["PATH"].split(os.pathsep)[0]) / "node"
    _executable(node, "#!/bin/sh\necho v18.19.1\n")
    with pytest.raises(DashboardBuildError, match=r"Node.js 18.19 is too old"):
        ensure_built(DashboardSettings(dashboard_dir=project), say=False)


def test_a_failed_build_shows_the_compiler_output(
    project: Path, npm_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL_BUILD", "1")
    with pytest.raises(DashboardBuildError) as caught:
        ensure_built(DashboardSettings(dashboard_dir=project), say=False)
    assert "npm run build failed" in str(caught.value)
    assert "error TS1005" in str(caught.value)


def test_skips_without_sources_or_when_turned_off(project: Path, tmp_path: Path) -> None:
    nothing = ensure_built(DashboardSettings(dashboard_dir=tmp_path / "none"), say=False)
    assert nothing.skipped_reason is not None
    assert "no dashboard sources" in nothing.skipped_reason
    off = ensure_built(DashboardSettings(dashboard_dir=project, dashboard_build=False), say=False)
    assert off.skipped_reason == "DASHBOARD_BUILD=false"
    assert not (project / "dist").exists()
