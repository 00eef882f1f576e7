"""The product's own documentation: its pages follow the toggles, its links resolve, and
nothing rendered cites a document the product never receives.

Each profile is rendered once (run_bootstrap=false) and shared by this module's tests, also
across xdist workers of one run.
"""

from __future__ import annotations

import ast
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import Profile, all_profiles, render

ALWAYS = {
    "index.md",
    "getting-started.md",
    "architecture.md",
    "modules.md",
    "hiagent.md",
    "configuration.md",
    "operations.md",
    "deployment.md",
    "updating.md",
    "testing.md",
    "security.md",
    "performance.md",
    "agents.md",
}
# Generated or third-party files of the dashboard: not written by hand, not checked.
GENERATED = {"openapi.json", "schema.d.ts", "package-lock.json"}
NOT_RENDERED = {".git", ".venv", ".mypy_cache", "node_modules"}

# Citations of the template's background material, which the product never receives.
FOREIGN = [
    (re.compile(r"appendix", re.IGNORECASE), "an appendix"),
    (re.compile(r"blueprint", re.IGNORECASE), "the blueprint"),
    (re.compile(r"wire-protocol", re.IGNORECASE), "the wire-protocol notes"),
    (re.compile("§"), "a section sign"),
    (re.compile(r"(?<![\w/.-])P\d{1,2}\b"), "a pitfall number (P<digit>)"),
]

# What a page of a product without a part must not mention: its commands, files and settings.
# Case matters (`DASHBOARD_DIR` is a setting, `dashboard_links` a manifest field of every
# product); `{slug}` stands for the product's command.
WITHOUT_WORKER = [
    r"\b{slug} worker\b",
    r"^\| `worker\b",
    r"\bworker/",
    r"worker\.md",
    r"(?i)\bredis",
    r"\bREDIS_",
    r"\bTASK_",
    r"compose\.sentinel",
    r"modules/tasks",
    r"/tasks\b",
    r"(?i)dramatiq",
]
WITHOUT_DASHBOARD = [
    r"\bdashboard/",
    r"dashboard\.md",
    r"modules[/.]dashboard",
    r"\bDASHBOARD_",
    r"\bnpm\b",
]
WITHOUT_EXAMPLE = [
    r"modules/tickets",
    r"\bTICKETS_",
    r"/tickets\b",
    r"(?i)\btickets\b",
]

# `[text](target)` and `![alt](target)`, and `[label]: target` definitions.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Product:
    """A rendered profile."""

    profile: Profile
    root: Path

    @property
    def slug(self) -> str:
        return self.profile.data()["project_slug"]

    def docs(self) -> list[Path]:
        return sorted((self.root / "docs").glob("*.md"))

    def pages(self) -> list[Path]:
        """Every Markdown page a reader of the product starts from."""
        return [self.root / "README.md", self.root / "deploy" / "README.md", *self.docs()]


def _shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist every worker has its own basetemp below one directory of this run.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "product-docs"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="module", params=all_profiles(), ids=lambda profile: profile.id)
def product(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Product:
    """The profile rendered once per run (a lock and a marker keep xdist workers to one)."""
    profile: Profile = request.param
    root = _shared_root(tmp_path_factory)
    destination = root / profile.id
    done = root / f"{profile.id}.done"
    with (root / f"{profile.id}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                shutil.rmtree(destination, ignore_errors=True)
                result = render(destination, profile.data())
                assert result.returncode == 0, f"{profile.id}: {result.stderr}"
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return Product(profile, destination)


def _prose(markdown: str) -> str:
    """The text outside fenced code blocks and code spans (where links are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", markdown))


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(page: Path) -> set[str]:
    return {_slug(match) for match in HEADING.findall(FENCE.sub("", page.read_text()))}


def _links(page: Path) -> Iterator[str]:
    prose = _prose(page.read_text())
    yield from INLINE_LINK.findall(prose)
    yield from LINK_DEFINITION.findall(prose)


def _files(product: Product) -> Iterator[Path]:
    for path in sorted(product.root.rglob("*")):
        parts = set(path.relative_to(product.root).parts)
        if path.is_file() and not parts & NOT_RENDERED and path.name not in GENERATED:
            yield path


def test_pages_follow_the_toggles(product: Product) -> None:
    expected = set(ALWAYS)
    if product.profile.with_dashboard:
        expected.add("dashboard.md")
    if product.profile.with_worker:
        expected.add("worker.md")
    assert {page.name for page in product.docs()} == expected


def test_every_relative_link_resolves(product: Product) -> None:
    broken = []
    for page in product.pages():
        for target in _links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # https:, mailto: ...
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(product.root)}: ({target})"
            if not resolved.is_relative_to(product.root.resolve()) or not resolved.exists():
                broken.append(f"{where} names a file the product lacks")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{where} names a heading that {resolved.name} lacks")
    assert broken == []


def test_nothing_cites_documents_the_product_lacks(product: Product) -> None:
    found = []
    for path in _files(product):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images and other binary files
        for number, line in enumerate(text.splitlines(), start=1):
            for pattern, what in FOREIGN:
                if pattern.search(line):
                    where = f"{path.relative_to(product.root)}:{number}"
                    found.append(f"{where}: {what}: {line.strip()}")
    assert found == []


def test_docs_mention_only_the_parts_the_product_has(product: Product) -> None:
    forbidden = []
    if not product.profile.with_worker:
        forbidden += WITHOUT_WORKER
    if not product.profile.with_dashboard:
        forbidden += WITHOUT_DASHBOARD
    if not product.profile.with_example_module:
        forbidden += WITHOUT_EXAMPLE
    patterns = [pattern.replace("{slug}", re.escape(product.slug)) for pattern in forbidden]
    found = []
    for page in product.pages():
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            for pattern in patterns:
                if re.search(pattern, line):
                    where = f"{page.relative_to(product.root)}:{number}"
                    found.append(f"{where}: /{pattern}/: {line.strip()}")
    assert found == []


def _commands(product: Product) -> set[str]:
    """Every command of the product's CLI, read from its typer decorators."""
    prefixes = {
        "cli": "",
        "worker_cli": "",
        "hiagent_cli": "hiagent ",
        "group": "retention ",
        "configs_group": "configs ",
    }
    commands = set()
    for source in (product.root / "src").rglob("*.py"):
        if "tests" in source.parts:
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                function = call.func if call else None
                if not (isinstance(function, ast.Attribute) and function.attr == "command"):
                    continue
                assert isinstance(function.value, ast.Name), ast.dump(function)
                owner = function.value.id
                assert owner in prefixes, f"{source}: commands of {owner!r}: add its prefix here"
                assert call is not None
                given = call.args[0] if call.args else None
                name = (
                    given.value
                    if isinstance(given, ast.Constant) and isinstance(given.value, str)
                    else node.name.replace("_", "-")
                )
                commands.add(prefixes[owner] + name)
    return commands


def test_readme_lists_every_command(product: Product) -> None:
    commands = _commands(product)
    expected = {
        "dev",
        "serve",
        "migrate",
        "alembic",
        "bootstrap",
        "create-user",
        "hiagent ping",
        "hiagent emulator",
        "add-module",
        "check-modules",
        "retention run",
        "sizing",
        "configs export",
        "configs import",
        "configs seed",
    }
    if product.profile.with_worker:
        expected.add("worker")
    assert expected <= commands
    readme = (product.root / "README.md").read_text()
    rows = {
        match.group(1).split(" [")[0].split(" --")[0].removesuffix(" NAME").removesuffix(" ARGS...")
        for match in re.finditer(r"^\| `([^`]+)` \|", readme, re.MULTILINE)
    }
    assert commands <= rows, f"missing from the README's table: {sorted(commands - rows)}"
    assert rows & {"worker"} == ({"worker"} if product.profile.with_worker else set())
