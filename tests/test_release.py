"""A release is consistent: CHANGELOG.md's newest version is the one in pyproject.toml."""

from __future__ import annotations

import tomllib

from packaging.version import Version

from hiagent_template.changelog import UNRELEASED, between, latest_version, releases

from .conftest import REPO

CHANGELOG = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")


def test_the_newest_changelog_version_is_the_template_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert str(latest_version(CHANGELOG)) == project["version"], (
        "CHANGELOG.md's newest section and pyproject.toml's version differ: a release updates "
        "both (docs/releasing.md)"
    )


def test_changelog_sections_are_unreleased_then_versions_newest_first() -> None:
    sections = releases(CHANGELOG)
    names = [section.name for section in sections]
    assert names[0] == UNRELEASED, names
    versions = [section.version for section in sections[1:] if section.version is not None]
    assert len(versions) == len(sections) - 1, f"a section is not a PEP 440 version: {names}"
    assert versions == sorted(set(versions), reverse=True), f"not newest first, or twice: {names}"


def test_the_sections_between_two_versions() -> None:
    text = (
        "# Changelog\n\n## [Unreleased]\n\n- Next.\n\n## [1.1.0] - 2026-02-01\n\n- Second.\n\n"
        "## [1.0.0] - 2026-01-01\n\n- First.\n\n[1.1.0]: https://example.invalid/1.1.0\n"
    )

    def names(after: str | None, upto: str | None) -> list[str]:
        found = between(text, Version(after) if after else None, Version(upto) if upto else None)
        return [release.name for release in found]

    assert names("1.0.0", "1.1.0") == ["1.1.0"]
    assert names("1.0.0", None) == ["Unreleased", "1.1.0"]  # a target that is not a release
    assert names(None, "1.0.0") == ["1.0.0"]
    assert names("1.1.0", "1.1.0") == []
    assert names("1.0.0.post2", "1.1.0") == ["1.1.0"]  # a product on a commit after 1.0.0
    assert between(text, None, Version("1.1.0"))[0].body == "- Second."
