"""Runbooks are listed and rendered for every role; raw HTML is never passed through."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from ..catalog import load_runbooks


async def test_list_and_read_a_shipped_runbook(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    listed = await client.get("/api/v1/runbooks", headers=viewer_headers)
    assert listed.status_code == 200
    slugs = {item["slug"] for item in listed.json()["items"]}
    assert "hiagent-unreachable" in slugs
    book = await client.get("/api/v1/runbooks/hiagent-unreachable", headers=viewer_headers)
    assert book.status_code == 200
    assert book.json()["title"] == "HiAgent cannot be reached"
    assert "<h1>HiAgent cannot be reached</h1>" in book.json()["html"]


async def test_unknown_runbook_lists_what_exists(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/runbooks/nope", headers=viewer_headers)
    assert response.status_code == 404
    assert "agent-paused" in response.json()["error"]["available"]


def test_raw_html_is_escaped_and_files_are_reread(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("---\ntitle: X\nsummary: s\n---\n# X\n<script>alert(1)</script>\n")
    book = load_runbooks(tmp_path)["x"]
    assert "<script>" not in book.html
    assert "&lt;script&gt;" in book.html
    page.write_text("---\ntitle: Changed\n---\nNew body\n")
    os.utime(page, (page.stat().st_atime, page.stat().st_mtime + 10))
    assert load_runbooks(tmp_path)["x"].title == "Changed"
    (tmp_path / "Not A Slug.md").write_text("# no")
    assert set(load_runbooks(tmp_path)) == {"x"}
