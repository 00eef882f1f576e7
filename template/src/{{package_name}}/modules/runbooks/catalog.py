"""Reading runbooks: `runbooks/<slug>.md` with a small front matter (title, summary)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markdown_it import MarkdownIt

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
# Raw HTML in a runbook is shown as text: runbooks are content, not code.
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False})


@dataclass(frozen=True)
class Runbook:
    """One runbook, parsed."""

    slug: str
    title: str
    summary: str
    markdown: str

    @property
    def html(self) -> str:
        """The body as HTML (raw HTML in the source is escaped)."""
        html: str = _renderer.render(self.markdown)
        return html


def default_directory() -> Path:
    """`runbooks/` in the working directory, else next to the project's `src/`."""
    here = Path.cwd() / "runbooks"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[4] / "runbooks"


def _parse(slug: str, text: str) -> Runbook:
    meta: dict[str, str] = {}
    body = text
    if text.startswith("---\n"):
        header, _, body = text[4:].partition("\n---\n")
        for line in header.splitlines():
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip()
    title = meta.get("title") or slug.replace("-", " ").capitalize()
    return Runbook(slug=slug, title=title, summary=meta.get("summary", ""), markdown=body.strip())


@lru_cache(maxsize=8)
def _load(directory: Path, stamp: float) -> dict[str, Runbook]:
    del stamp  # part of the cache key only: a changed folder is read again
    books = {}
    for path in sorted(directory.glob("*.md")):
        if _SLUG.match(path.stem):
            books[path.stem] = _parse(path.stem, path.read_text(encoding="utf-8"))
    return books


def load_runbooks(directory: Path) -> dict[str, Runbook]:
    """Every runbook in `directory` by slug (re-read when a file changes)."""
    if not directory.is_dir():
        return {}
    stamp = max((p.stat().st_mtime for p in directory.glob("*.md")), default=0.0)
    return _load(directory, stamp)
