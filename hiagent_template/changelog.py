"""The template's CHANGELOG.md: its release sections, and the ones between two versions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

UNRELEASED = "Unreleased"
# "## [0.9.0] - 2026-12-03", "## 0.9.0", "## [Unreleased]"
_HEADING = re.compile(r"^## +\[?(?P<name>[^\]\s]+)\]?")


@dataclass(frozen=True)
class Release:
    """One `## [name] - date` section: a version or `Unreleased`, and its text."""

    name: str
    heading: str
    body: str

    @property
    def version(self) -> Version | None:
        """The section's PEP 440 version; None for `Unreleased` (or a name that is none)."""
        try:
            return Version(self.name)
        except InvalidVersion:
            return None

    @property
    def empty(self) -> bool:
        """True when the section has no entries."""
        return not self.body.strip()


def releases(text: str) -> list[Release]:
    """Every `## ` section of a Keep a Changelog file, newest first (as written)."""
    found: list[Release] = []
    heading: str | None = None
    lines: list[str] = []
    in_fence = False

    def close() -> None:
        if heading is not None:
            match = _HEADING.match(heading)
            name = match["name"] if match else heading.removeprefix("## ").strip()
            found.append(Release(name=name, heading=heading, body="\n".join(lines).strip("\n")))

    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            close()
            heading, lines = line.rstrip(), []
        elif heading is not None and not _is_link_definition(line):
            lines.append(line)
    close()
    return found


def latest_version(text: str) -> Version | None:
    """The newest released version: the first section that names one."""
    for release in releases(text):
        if release.version is not None:
            return release.version
    return None


def between(text: str, after: Version | None, upto: Version | None) -> list[Release]:
    """Sections newer than `after`, up to and including `upto`, newest first.

    `None` for `after` means from the beginning; `None` for `upto` means a target that is not a
    release, which then also gets the `Unreleased` section when it has entries.
    """
    chosen = []
    for release in releases(text):
        version = release.version
        if version is None:
            if release.name.lower() == UNRELEASED.lower() and upto is None and not release.empty:
                chosen.append(release)
            continue
        if after is not None and version <= after:
            continue
        if upto is not None and version > upto:
            continue
        chosen.append(release)
    return chosen


def _is_link_definition(line: str) -> bool:
    return bool(re.match(r"^\[[^\]]+\]: ", line))
