"""/runbooks: the operational runbooks, for every signed-in role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from ...core.errors import NotFoundError
from ..auth.dependencies import require_signed_in
from .catalog import default_directory, load_runbooks

router = APIRouter(prefix="/runbooks", tags=["runbooks"], dependencies=[Depends(require_signed_in)])


class RunbookSummary(BaseModel):
    """A runbook in the list."""

    slug: str
    title: str
    summary: str


class RunbookRead(RunbookSummary):
    """A whole runbook, as Markdown and as HTML."""

    markdown: str
    html: str


class RunbookPage(BaseModel):
    """Every runbook, by title."""

    items: list[RunbookSummary]


@router.get("", response_model=RunbookPage, summary="List runbooks")
async def list_runbooks() -> RunbookPage:
    """Titles and summaries of every runbook."""
    books = sorted(load_runbooks(default_directory()).values(), key=lambda book: book.title)
    return RunbookPage(
        items=[RunbookSummary(slug=b.slug, title=b.title, summary=b.summary) for b in books]
    )


@router.get("/{slug}", response_model=RunbookRead, summary="Read a runbook")
async def read_runbook(
    slug: Annotated[str, Path(min_length=1, max_length=100, description="The runbook's slug.")],
) -> RunbookRead:
    """One runbook; 404 lists the slugs that exist."""
    books = load_runbooks(default_directory())
    book = books.get(slug)
    if book is None:
        available = sorted(books)
        raise NotFoundError(
            f"There is no runbook {slug!r}. Available: {', '.join(available) or 'none'}.",
            available=available,
        )
    return RunbookRead(
        slug=book.slug,
        title=book.title,
        summary=book.summary,
        markdown=book.markdown,
        html=book.html,
    )
