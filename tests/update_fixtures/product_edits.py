"""Edits a product team typically makes, applied by the update matrix (tests/test_update.py).

Each edit finds an anchor in the generated code; a missing anchor fails naming the file, so a
template change that moves it shows here rather than as a mysterious update failure.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

PACKAGE = "acme_support"
SLUG = "acme-support"
# Already in the product's uv.lock (httpx and starlette need it): adding it downloads nothing.
NEW_DEPENDENCY = '"anyio>=4",'
SETTINGS_FIELD = 'support_inbox: str = "support@acme.example"'
TICKET_SUMMARY = 'summary="Read one ticket and its triage"'
README_SECTION = "## Acme on-call"
KNOWLEDGE_BASE = "faq-knowledge-base"


def source(project: Path) -> Path:
    """The product's package directory."""
    return project / "src" / PACKAGE


def replace_once(path: Path, anchor: str, replacement: str) -> None:
    """Replace the single `anchor` in `path`, or fail saying the fixture needs a new anchor."""
    text = path.read_text(encoding="utf-8")
    found = text.count(anchor)
    assert found == 1, f"{path}: expected 1 occurrence of {anchor!r}, found {found}"
    path.write_text(text.replace(anchor, replacement), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def edit_example_module(project: Path) -> None:
    """A helper (with its test) in the tickets module, and a reworded route summary."""
    tickets = source(project) / "modules" / "tickets"
    append(
        tickets / "service.py",
        textwrap.dedent('''


            def ticket_label(ticket_id: int, subject: str) -> str:
                """How Acme's support agents name a ticket in chat: "#12 Printer on fire"."""
                return f"#{ticket_id} {subject}"
        '''),
    )
    (tickets / "tests" / "test_ticket_label.py").write_text(
        textwrap.dedent('''\
            """Acme's own ticket helper."""

            from ..service import ticket_label


            def test_a_label_is_the_number_and_the_subject() -> None:
                assert ticket_label(12, "Printer on fire") == "#12 Printer on fire"
        '''),
        encoding="utf-8",
    )
    replace_once(tickets / "router.py", 'summary="Read a ticket"', TICKET_SUMMARY)


def add_settings_field(project: Path) -> None:
    anchor = "    cors_origins: list[str] = Field(default_factory=list)\n"
    replace_once(
        source(project) / "core" / "settings.py",
        anchor,
        f"{anchor}\n    # Acme: the address customer replies are sent from\n    {SETTINGS_FIELD}\n",
    )


def add_dependency(project: Path) -> None:
    """A direct dependency the lock already holds as a transitive one."""
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "anyio"' in lock, "anyio is no longer in the product's uv.lock: pick another"
    replace_once(
        project / "pyproject.toml",
        "dependencies = [\n",
        f"dependencies = [\n    {NEW_DEPENDENCY}\n",
    )


def add_readme_section(project: Path) -> None:
    append(
        project / "README.md",
        f"\n{README_SECTION}\n\nUrgent tickets page the support lead on duty (Acme's part).\n",
    )


def apply_typical_edits(project: Path) -> None:
    """Everything but the new module and the lock: the caller runs the product's tools."""
    edit_example_module(project)
    add_settings_field(project)
    add_dependency(project)
    add_readme_section(project)


def missing_edits(project: Path) -> list[str]:
    """The edits of `apply_typical_edits` (and the billing module) no longer in the product."""
    tickets = source(project) / "modules" / "tickets"
    expected = {
        tickets / "service.py": "def ticket_label(ticket_id: int, subject: str) -> str:",
        tickets / "tests" / "test_ticket_label.py": "def test_a_label_is_the_number_and_the",
        tickets / "router.py": TICKET_SUMMARY,
        source(project) / "core" / "settings.py": SETTINGS_FIELD,
        project / "pyproject.toml": NEW_DEPENDENCY,
        project / "README.md": README_SECTION,
        source(project) / "modules" / "billing" / "router.py": 'prefix="/billing"',
    }
    return [
        f"{path.relative_to(project)}: {snippet}"
        for path, snippet in expected.items()
        if not path.exists() or snippet not in path.read_text(encoding="utf-8")
    ]


# The knowledge-base FAQ: a second module, scaffolded at the new version, then grown.

_REVISION = re.compile(r"^revision(?::\s*str)?\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)

_SECOND_MIGRATION = '''"""faq: the answer found in the knowledge base

Revision ID: faq_0002
Revises: $down
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "faq_0002"
down_revision: str | None = "$down"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing questions get an empty answer; new rows always set one.
    op.add_column("faq_items", sa.Column("answer", sa.Text(), server_default="", nullable=False))
    op.alter_column("faq_items", "answer", server_default=None)


def downgrade() -> None:
    op.drop_column("faq_items", "answer")
'''

_KNOWLEDGE = f'''"""Answers to customers' questions from the knowledge base (HiAgent retriever)."""

from __future__ import annotations

from typing import ClassVar

from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.events.bus import DomainEvent, EventBus
from ..gateway.service import Gateway
from .models import FaqItem

KNOWLEDGE_BASE = "{KNOWLEDGE_BASE}"
NO_ANSWER = "No answer in the knowledge base yet: a person will reply."


class FaqAnswered(DomainEvent):
    """A question was answered from the knowledge base (published in the same transaction)."""

    event_type: ClassVar[str] = "faq.answered"

    item_id: int
    passages: int


async def answer_question(
    session: AsyncSession,
    gateway: Gateway,
    events: EventBus,
    question: str,
    *,
    retriever: str = KNOWLEDGE_BASE,
    user_id: str = "faq@system",
) -> FaqItem:
    """Store the question with the best passage as its answer, and publish `FaqAnswered`."""
    passages = await gateway.retrieve(retriever, question, user_id=user_id, top_k=3, endpoint="faq")
    answer = passages[0].content if passages else NO_ANSWER
    item = FaqItem(title=question[:200], answer=answer)
    session.add(item)
    await session.flush()
    assert item.id is not None
    events.publish(session, FaqAnswered(item_id=item.id, passages=len(passages)), source="faq")
    await session.commit()
    await session.refresh(item)
    return item
'''

_KNOWLEDGE_TEST = '''"""The FAQ answers from the knowledge base (real SDK, HiAgent emulator)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from ....hiagent.emulator import EmulatorServer, RetrievalResult, Scenario
from ....testing.events import EventLog
from ..knowledge import KNOWLEDGE_BASE, NO_ANSWER, answer_question
from ..models import FaqItem


async def knowledge_base(
    client: httpx.AsyncClient, admin_headers: dict[str, str], emulator: EmulatorServer, *hits: float
) -> None:
    body = {
        "name": KNOWLEDGE_BASE,
        "app_key": "app-faq",
        "config_type": "retriever",
        "workspace_id": "ws-1",
        "dataset_ids": ["ds-faq"],
    }
    created = await client.post("/api/v1/agent-configs", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    passages = ["Refunds take 5 days.", "Shipping is free."]
    found = [RetrievalResult(content=c, score=s) for c, s in zip(passages, hits, strict=False)]
    emulator.set_scenario("ds-faq", Scenario(retrieval=found))


async def test_a_question_gets_the_best_passage_and_an_event(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    event_log: EventLog,
    db_session: AsyncSession,
) -> None:
    await knowledge_base(client, admin_headers, hiagent_emulator, 0.92, 0.7)

    item = await answer_question(
        db_session, app.state.gateway, app.state.event_bus, "How long do refunds take?"
    )

    assert item.answer == "Refunds take 5 days."
    sent = hiagent_emulator.calls("Query")[0].body
    assert (sent["Keywords"], sent["DatasetIds"]) == (["How long do refunds take?"], ["ds-faq"])
    [event] = await event_log.published("faq.answered")
    assert event.payload == {"item_id": item.id, "passages": 2}
    stored = await db_session.get(FaqItem, item.id, populate_existing=True)
    assert stored is not None
    assert stored.answer == "Refunds take 5 days."
    listed = await client.get("/api/v1/faq", headers=admin_headers)
    assert [row["title"] for row in listed.json()["items"]] == ["How long do refunds take?"]


async def test_no_passage_above_the_threshold_is_no_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    hiagent_emulator: EmulatorServer,
    event_log: EventLog,
    db_session: AsyncSession,
) -> None:
    await knowledge_base(client, admin_headers, hiagent_emulator, 0.2)

    item = await answer_question(db_session, app.state.gateway, app.state.event_bus, "Parking?")

    assert item.answer == NO_ANSWER
    [event] = await event_log.published("faq.answered")
    assert event.payload == {"item_id": item.id, "passages": 0}
'''


def first_migration_of(project: Path, table: str) -> Path:
    """The migration creating `table`, wherever add-module put it."""
    found = [
        path
        for path in source(project).rglob("*.py")
        if "migrations" in path.relative_to(project).parts
        and "create_table" in (text := path.read_text(encoding="utf-8"))
        and f'"{table}"' in text
    ]
    assert len(found) == 1, f"expected one migration creating {table}, found {found}"
    return found[0]


def make_faq_a_knowledge_base(project: Path) -> Path:
    """Grow the scaffolded faq module: an `answer` column (its own second revision), a service
    answering from a HiAgent retriever and publishing an event, and its tests.

    Returns the new migration.
    """
    module = source(project) / "modules" / "faq"
    models = module / "models.py"
    text = models.read_text(encoding="utf-8")
    imports = re.search(r"^from sqlalchemy import (.+)$", text, re.MULTILINE)
    assert imports is not None, f"{models}: no `from sqlalchemy import ...` line"
    names = sorted({*imports.group(1).split(", "), "Text"})
    models.write_text(
        text.replace(imports.group(0), f"from sqlalchemy import {', '.join(names)}"),
        encoding="utf-8",
    )
    anchor = '    notes: str = Field(default="", max_length=5000)\n'
    replace_once(
        models,
        anchor,
        anchor + '    answer: str = Field(default="", sa_column=Column(Text, nullable=False))\n',
    )
    first = first_migration_of(project, "faq_items")
    revision = _REVISION.search(first.read_text(encoding="utf-8"))
    assert revision is not None, f"{first}: no `revision = ...` line"
    second = first.parent / "faq_0002_add_answer.py"
    second.write_text(_SECOND_MIGRATION.replace("$down", revision.group(1)), encoding="utf-8")
    (module / "knowledge.py").write_text(_KNOWLEDGE, encoding="utf-8")
    (module / "tests" / "test_knowledge.py").write_text(_KNOWLEDGE_TEST, encoding="utf-8")
    return second
