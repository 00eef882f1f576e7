"""What `hiagent-template update` would bring, read from the template's git history first.

The product's `.copier-answers.yml` says where the template comes from (`_src_path`) and which
version the product has (`_commit`). The target is the ref asked for, else the newest PEP 440
tag (Copier's own choice), else HEAD. The preview is the changelog between the two versions,
the template's commits and the files that changed under `template/`.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from . import changelog

ANSWERS_FILE = ".copier-answers.yml"
SUBDIRECTORY = "template"  # copier.yml's _subdirectory: what a product is rendered from
CLONE_TIMEOUT_S = 300
# Copier's own shortcuts for hosted repositories.
_ALIASES = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
_DESCRIBED = re.compile(r"^(?P<tag>.+)-(?P<count>\d+)-g(?P<sha>[0-9a-f]+)$")


class UpdateError(Exception):
    """A problem that stops the update; the message says what it is and how to fix it."""


class SourceUnavailable(Exception):
    """The template's history cannot be read here; Copier may still reach it and update."""


@dataclass(frozen=True)
class Preview:
    """The changes an update brings, as shown before it is applied."""

    source: str
    current: str | None
    current_commit: str | None
    target: str
    target_commit: str
    copier_ref: str | None
    releases: list[changelog.Release] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    stat: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        """True when the product already has the target commit."""
        return self.current_commit == self.target_commit


def answer(project: Path, key: str) -> str | None:
    """One top-level value of the product's answers file (None when absent)."""
    path = project / ANSWERS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return _unquote(line.split(":", 1)[1].strip())
    return None


def source_of(project: Path) -> str:
    """The product's `_src_path`; fails clearly when the folder is no Copier product."""
    if not project.is_dir():
        raise UpdateError(f"{project} is not a folder: pass the product's folder.")
    if not (project / ANSWERS_FILE).is_file():
        raise UpdateError(
            f"{project / ANSWERS_FILE} is missing: {project} was not rendered by Copier "
            "(or the answers file was deleted; restore it from git)."
        )
    src_path = answer(project, "_src_path")
    if not src_path:
        raise UpdateError(
            f"{project / ANSWERS_FILE} has no _src_path: Copier cannot tell where the template "
            "is. Add `_src_path: <template path or git URL>` to it."
        )
    return src_path


def expand(src_path: str) -> str:
    """The git location of a `_src_path`: shortcuts expanded, `git+` dropped."""
    for alias, base in _ALIASES.items():
        if src_path.startswith(alias):
            rest = src_path.removeprefix(alias).lstrip("/")
            return base + (rest if rest.endswith(".git") else f"{rest}.git")
    return src_path.removeprefix("git+")


def is_remote(location: str) -> bool:
    """True for a URL (`scheme://...` or `user@host:path`), False for a local path."""
    return "://" in location or bool(re.match(r"^[\w.-]+@[\w.-]+:", location))


@contextmanager
def template_history(src_path: str) -> Iterator[Path]:
    """A git directory with the template's history: the local source, or a temporary clone."""
    location = expand(src_path)
    if not is_remote(location):
        path = Path(location).expanduser()
        if not path.is_dir():
            relative = "" if path.is_absolute() else f", read from {Path.cwd()}"
            raise UpdateError(
                f"The template source {path} (_src_path in {ANSWERS_FILE}{relative}) does not "
                "exist here: clone the template there, or set _src_path to its git URL."
            )
        if _git(path, "rev-parse", "--git-dir", check=False).returncode != 0:
            raise UpdateError(
                f"The template source {path} is not a git repository: Copier updates only from "
                "git-tracked templates."
            )
        yield path.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="hiagent-template-") as scratch:
        clone = Path(scratch) / "template.git"
        try:
            result = subprocess.run(  # noqa: S603 (the answers file's source, as Copier uses it)
                ["git", "clone", "--quiet", "--bare", location, str(clone)],  # noqa: S607
                capture_output=True,
                text=True,
                check=False,
                timeout=CLONE_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise SourceUnavailable(
                f"cloning {location} took over {CLONE_TIMEOUT_S} s and was stopped"
            ) from exc
        if result.returncode != 0:
            reason = _last_line(result.stderr) or f"git exited with {result.returncode}"
            raise SourceUnavailable(f"could not clone {location}: {reason}")
        yield clone


def newest_tag(repo: Path) -> str | None:
    """The newest PEP 440 tag that is no prerelease, as `copier update` picks it."""
    versions: list[tuple[Version, str]] = []
    for tag in _git(repo, "tag", "--list").stdout.split():
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            versions.append((version, tag))
    return max(versions)[1] if versions else None


def build(project: Path, repo: Path, src_path: str, vcs_ref: str | None) -> Preview:
    """Everything the update brings, read from the template's history in `repo`."""
    current = answer(project, "_commit") or None
    tag = None if vcs_ref else newest_tag(repo)
    target = vcs_ref or tag or "HEAD"
    target_commit = _commit_of(repo, target)
    if target_commit is None:
        raise UpdateError(
            f"{target} is not a tag, branch or commit of the template at {src_path}: "
            "pass an existing one with --vcs-ref (see `git tag` in the template)."
        )
    notes = []
    current_commit = _commit_of(repo, current) if current else None
    if current is None:
        notes.append(f"{ANSWERS_FILE} has no _commit: the product's version is unknown.")
    elif current_commit is None:
        notes.append(
            f"The product's version {current} is not in the template's history: "
            "commits and changed files cannot be listed."
        )
    if target == "HEAD" and not is_remote(expand(src_path)) and _dirty(repo):
        notes.append(
            "The template has uncommitted changes: Copier applies them too; they are not "
            "listed here."
        )
    notes_text = _changelog_at(repo, target_commit)
    releases: list[changelog.Release] = []
    if notes_text is None:
        notes.append(f"CHANGELOG.md is not in the template at {target}.")
    else:
        releases = changelog.between(
            notes_text,
            after=_version_of(repo, current, current_commit),
            upto=_release_of(repo, target, target_commit),
        )
    commits: list[str] = []
    stat = ""
    if current_commit is not None:
        span = f"{current_commit}..{target_commit}"
        commits = _git(repo, "log", "--oneline", "--no-decorate", span).stdout.splitlines()
        stat = _git(
            repo, "diff", "--stat=160", current_commit, target_commit, "--", f"{SUBDIRECTORY}/"
        ).stdout.rstrip()
    return Preview(
        source=src_path,
        current=current,
        current_commit=current_commit,
        target=target,
        target_commit=target_commit,
        copier_ref=vcs_ref or tag,
        releases=releases,
        commits=commits,
        stat=stat,
        notes=notes,
    )


def _commit_of(repo: Path, ref: str) -> str | None:
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if result.returncode == 0:
        return result.stdout.strip()
    described = _DESCRIBED.match(ref)
    return _commit_of(repo, described["sha"]) if described else None


def _version_of(repo: Path, ref: str | None, commit: str | None) -> Version | None:
    """The product's version: its tag, `tag.postN` for a described commit, else the last tag."""
    if ref:
        described = _DESCRIBED.match(ref)
        try:
            if described:
                return Version(f"{described['tag']}.post{described['count']}")
            return Version(ref)
        except InvalidVersion:
            pass
    if commit is None:
        return None
    last = _git(repo, "describe", "--tags", "--abbrev=0", commit, check=False).stdout.strip()
    return _parse(last)


def _release_of(repo: Path, ref: str, commit: str) -> Version | None:
    """The target's version when it is a release tag; None for any other commit."""
    version = _parse(ref)
    if version is not None and _git(repo, "tag", "--list", ref).stdout.strip():
        return version
    exact = _git(repo, "tag", "--points-at", commit).stdout.split()
    found = [version for version in map(_parse, exact) if version is not None]
    return max(found) if found else None


def _changelog_at(repo: Path, commit: str) -> str | None:
    result = _git(repo, "show", f"{commit}:CHANGELOG.md", check=False)
    return result.stdout if result.returncode == 0 else None


def _dirty(repo: Path) -> bool:
    return bool(_git(repo, "status", "--porcelain", check=False).stdout.strip())


def _parse(text: str) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(  # noqa: S603 (fixed git subcommands)
            ["git", "-C", str(repo), *args],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise UpdateError("git is not installed: install it, then rerun.") from exc
    if check and result.returncode != 0:
        raise UpdateError(
            f"`git {' '.join(args)}` failed in {repo}: {_last_line(result.stderr) or 'no output'}"
        )
    return result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value
