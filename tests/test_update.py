"""Update matrix: a product made from the previous release updates to this template and stays green.

A session fixture builds a template repository with real versions: `v0.8.0` is commit
0c4c42a of this repository's history, and a test tag on top holds this working tree (with its
uncommitted changes). Each cell (a profile of answers) then:

1. copies `v0.8.0` with the bootstrap (`.env`, install, migrations, admin, first commit), on a
   database of its own (a fresh one on DATABASE_URL's server, else the embedded PostgreSQL);
2. makes the edits a product team makes with that release's tools: `add-module billing` and
   `migrate`, a helper and a reworded summary in the example module, a settings field, a
   dependency (locked and synced), a README section; stores a billing item and a ticket; commits;
3. runs `copier update` to the new tag and checks: no `.rej` files, no conflict markers, every
   edit kept; `uv sync` and `migrate` work on the existing database and the data is still there;
   the bootstrap did not run again (same `.env`, same admin password hash); `check-modules`
   passes; the product's whole suite passes;
4. no-worker: commits, then turns the worker on through an update; `migrate` creates `tasks`;
5. default: adds a second module at the new version (`add-module faq`) and grows it into a
   knowledge-base FAQ (a second revision, a retriever call, an event, tests); its suites pass.

Each cell prints how long its steps took (`pytest -rP` shows it for passing cells).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from .conftest import REPO, UV
from .update_fixtures import product_edits
from .update_fixtures.product_edits import PACKAGE, SLUG

pytestmark = pytest.mark.slow

OLD_TAG = "v0.8.0"
OLD_COMMIT = "0c4c42a"
# A test-only version newer than any release: this working tree.
NEW_TAG = "v0.9.0.post999"
GIT_ID = ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
NOT_COPIED = {".git", ".venv", ".nox", "node_modules", "__pycache__"}
PRODUCT_SQL = Path(__file__).resolve().parent / "update_fixtures" / "product_sql.py"
SUITE_TIMEOUT_S = 1200
COPIER = str(Path(sys.executable).with_name("copier"))
if not Path(COPIER).exists():
    COPIER = shutil.which("copier") or "copier"


def tail(result: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    """The end of a finished command's output, for assertion messages."""
    out = "\n".join(result.stdout.splitlines()[-lines:])
    err = "\n".join(result.stderr.splitlines()[-lines:])
    return f"$ {shlex.join(map(str, result.args))}\n(exit {result.returncode})\n{out}\n{err}"


def suite_failure(result: subprocess.CompletedProcess[str]) -> str:
    """The end of the suite's output, after the error lines scrolled out of it."""
    errors = [line for line in result.stdout.splitlines()[:-40] if line.startswith("E ")]
    return "\n".join([*errors[:30], "[...]", tail(result, 40)]) if errors else tail(result, 40)


def run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run without a terminal; past `timeout` stop its whole process group and fail."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(process)
            try:
                out, err = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                out, err = "", "(its output could not be read)"
            printed = "\n".join((out + err).splitlines()[-80:])
            pytest.fail(f"{shlex.join(command)} ran past {timeout:g} s; its output:\n{printed}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def stop_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM the group this test started (by its id), then SIGKILL what is left."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=120
    ).stdout


# The template repository: v0.8.0 from history, the new tag from this working tree.


@dataclass(frozen=True)
class TemplateRepo:
    path: Path
    old: str
    new: str


def _not_copied(directory: str, names: list[str]) -> set[str]:
    ignored = {name for name in names if name in NOT_COPIED or fnmatch.fnmatch(name, ".*_cache")}
    if Path(directory) == REPO and "site" in names:
        ignored.add("site")
    return ignored


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    """A clone of this repository: OLD_TAG on its commit, NEW_TAG on this working tree."""
    clone = tmp_path_factory.mktemp("update-template") / "template"
    subprocess.run(
        ["git", "clone", "--no-local", "-q", str(REPO), str(clone)], check=True, timeout=300
    )
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{OLD_COMMIT}^{{commit}}"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if found.returncode != 0:
        pytest.fail(
            f"commit {OLD_COMMIT} ({OLD_TAG}, the release products are updated from) is not in "
            f"the history of {REPO}: a shallow clone? Fetch it whole: git fetch --unshallow"
        )
    git(clone, "tag", "-f", OLD_TAG, found.stdout.strip())
    for child in clone.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    shutil.copytree(REPO, clone, ignore=_not_copied, symlinks=True, dirs_exist_ok=True)
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "--allow-empty", "--no-verify", "-m", "this working tree")
    git(clone, "tag", "-f", NEW_TAG)
    return TemplateRepo(clone, OLD_TAG, NEW_TAG)


# One cell: a profile of answers, its product, its database, its timings.


@dataclass
class Cell:
    name: str
    answers: dict[str, str]
    project: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[title] = time.monotonic() - started
            print(f"[{self.name}] {title}: {self.timings[title]:.1f} s", flush=True)

    def run(
        self, *command: str, timeout: float = 600, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(list(command), cwd or self.project, self.env, timeout)

    def ok(self, *command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run in the product; fail with its output unless it exits 0."""
        result = self.run(*command, timeout=timeout)
        assert result.returncode == 0, tail(result)
        return result

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The product's own command line, in its environment."""
        return self.run(UV, "run", "--no-sync", SLUG, *args, timeout=300)

    def sql(self, *statements: str) -> list[list[dict[str, object]]]:
        """Rows of each statement, on the product's database (one transaction)."""
        result = self.ok(
            UV, "run", "--no-sync", "python", str(PRODUCT_SQL), PACKAGE, *statements, timeout=120
        )
        rows: list[list[dict[str, object]]] = json.loads(result.stdout.strip().splitlines()[-1])
        return rows

    def commit(self, message: str) -> None:
        git(self.project, "add", "-A")
        git(self.project, "commit", "-q", "--no-verify", "-m", message)

    def suite(self, *paths: str) -> None:
        """The product's tests (all of them without `paths`); fail with the end of the output."""
        result = self.run(
            UV,
            "run",
            "--no-sync",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
            *paths,
            timeout=SUITE_TIMEOUT_S,
        )
        assert result.returncode == 0, suite_failure(result)
        assert " passed" in result.stdout, suite_failure(result)


def product_env(database_url: str | None) -> dict[str, str]:
    """This environment without the template's venv, with the cell's database if any."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DATABASE_URL")}
    if os.path.isabs(UV):  # the bootstrap looks uv up on PATH
        env["PATH"] = os.pathsep.join([str(Path(UV).parent), env.get("PATH", "")])
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def psql(admin_url: str, statement: str) -> None:
    if shutil.which("psql") is None:
        pytest.fail(
            "psql is needed to make each cell's database (apt-get install postgresql-client)"
        )
    subprocess.run(
        ["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qc", statement],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def cell_database(name: str) -> Iterator[str | None]:
    """A fresh database on DATABASE_URL's server, dropped afterwards; None when it is unset."""
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        yield None
        return
    parts = urlsplit(configured)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    database = f"acme_update_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    psql(admin, f'CREATE DATABASE "{database}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))
    finally:
        psql(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def stop_embedded_postgres(project: Path) -> list[int]:
    """Stop servers the product started under .data/ that are still up (by their pid file)."""
    stopped = []
    for pid_file in (project / ".data").glob("*/postmaster.pid"):
        try:
            lines = pid_file.read_text().splitlines()
            pid, data_dir = int(lines[0]), Path(lines[1])
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # not running, or not readable as a postmaster's
        if b"postgres" not in command or data_dir.resolve() != pid_file.parent.resolve():
            continue
        os.kill(pid, signal.SIGINT)  # fast shutdown
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
        stopped.append(pid)
    return stopped


# The steps of a cell.


def copy_previous_release(cell: Cell, template: TemplateRepo) -> None:
    answers = {"project_name": "Acme Support", **cell.answers}
    result = cell.run(
        COPIER,
        "copy",
        "--trust",
        "--defaults",
        f"--vcs-ref={template.old}",
        *(f"--data={key}={value}" for key, value in answers.items()),
        str(template.path),
        str(cell.project),
        cwd=cell.project.parent,
        timeout=900,
    )
    assert result.returncode == 0, tail(result)
    assert "Admin created" in result.stdout, tail(result)
    assert (cell.project / ".env").is_file()
    assert f"_commit: {template.old}" in (cell.project / ".copier-answers.yml").read_text()
    assert git(cell.project, "status", "--porcelain").strip() == ""


def make_product_edits(cell: Cell) -> None:
    """What a team does with the previous release's tools, then commits."""
    cell.ok(UV, "run", "--no-sync", SLUG, "add-module", "billing")
    migrated = cell.cli("migrate")
    assert migrated.returncode == 0, tail(migrated)
    product_edits.apply_typical_edits(cell.project)
    cell.ok(UV, "lock", timeout=300)
    cell.ok(UV, "sync", timeout=600)
    inbox = cell.ok(
        UV,
        "run",
        "--no-sync",
        "python",
        "-c",
        f"from {PACKAGE}.core.settings import Settings; print(Settings().support_inbox)",
    )
    assert inbox.stdout.strip().endswith("support@acme.example"), tail(inbox)
    [[bill], [ticket]] = cell.sql(
        "INSERT INTO billing_items (title, notes) "
        "VALUES ('Invoice ACME-42', 'kept across template updates') RETURNING id",
        "INSERT INTO support_tickets (subject, body, status) "
        "VALUES ('Printer on fire', 'Kept across template updates', 'new') RETURNING id",
    )
    assert bill["id"]
    assert ticket["id"]
    assert product_edits.missing_edits(cell.project) == []
    cell.commit("Acme: billing module, ticket label, support inbox, anyio, on-call notes")


@dataclass(frozen=True)
class State:
    """What must survive an update untouched."""

    env_file: bytes
    admin_hash: str
    data: list[list[dict[str, object]]]


def product_data(cell: Cell) -> list[list[dict[str, object]]]:
    return cell.sql(
        "SELECT title, notes FROM billing_items ORDER BY id",
        "SELECT subject, body FROM support_tickets ORDER BY id",
    )


def current_state(cell: Cell) -> State:
    [[admin]] = cell.sql("SELECT password_hash FROM users WHERE username = 'admin'")
    return State(
        (cell.project / ".env").read_bytes(), str(admin["password_hash"]), product_data(cell)
    )


def update(cell: Cell, template: TemplateRepo, *data: str) -> subprocess.CompletedProcess[str]:
    """`copier update` to the new tag; fails on an exit code, `.rej` files or markers."""
    result = cell.run(
        COPIER,
        "update",
        "--trust",
        "--defaults",
        f"--vcs-ref={template.new}",
        *(f"--data={item}" for item in data),
        timeout=600,
    )
    assert result.returncode == 0, tail(result)
    files = git(cell.project, "ls-files", "--cached", "--others", "--exclude-standard")
    rejected = [name for name in files.splitlines() if name.endswith(".rej")]
    assert rejected == [], f"the update left rejected hunks: {rejected}\n{tail(result)}"
    markers = subprocess.run(
        ["git", "grep", "-n", "-I", "--untracked", "-E", "^(<<<<<<<|>>>>>>>)( |$)"],
        cwd=cell.project,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert markers.returncode == 1, f"conflict markers after the update:\n{markers.stdout}"
    assert f"_commit: {template.new}" in (cell.project / ".copier-answers.yml").read_text()
    printed = result.stdout + result.stderr
    assert "git repository created" not in printed
    assert "Admin created" not in printed
    return result


def sync_and_migrate(cell: Cell) -> None:
    cell.ok(UV, "sync", timeout=600)
    migrated = cell.cli("migrate")
    assert migrated.returncode == 0, tail(migrated)


def assert_untouched(cell: Cell, before: State) -> None:
    """The data is still there and the bootstrap did not run again."""
    after = current_state(cell)
    assert after.data == before.data
    assert after.env_file == before.env_file, ".env changed: the bootstrap ran again"
    assert after.admin_hash == before.admin_hash, "the admin's password changed"


def check_modules(cell: Cell, *names: str) -> None:
    checked = cell.cli("check-modules")
    assert checked.returncode == 0, tail(checked)
    for name in names:
        assert name in checked.stdout, tail(checked)


def turn_the_worker_on(cell: Cell, template: TemplateRepo, before: State) -> None:
    """A toggle switched on by an update: the worker's table appears, nothing else is lost."""
    cell.commit(f"Update to template {template.new}")
    update(cell, template, "with_worker=true")
    assert "with_worker: true" in (cell.project / ".copier-answers.yml").read_text()
    assert product_edits.missing_edits(cell.project) == []
    sync_and_migrate(cell)
    [[tasks]] = cell.sql("SELECT to_regclass('tasks') IS NOT NULL AS present")
    assert tasks["present"], "migrate did not create the tasks table of the worker"
    assert_untouched(cell, before)
    check_modules(cell, "tasks", "billing")


def add_knowledge_base_faq(cell: Cell, template: TemplateRepo, before: State) -> None:
    """A second business module, made with the new version's tools, that calls a retriever."""
    cell.commit(f"Update to template {template.new}")
    cell.ok(UV, "run", "--no-sync", SLUG, "add-module", "faq")
    product_edits.make_faq_a_knowledge_base(cell.project)
    migrated = cell.cli("migrate")
    assert migrated.returncode == 0, tail(migrated)
    [columns] = cell.sql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'faq_items' AND column_name = 'answer'"
    )
    assert columns == [{"column_name": "answer"}]
    assert_untouched(cell, before)
    check_modules(cell, "faq", "billing")
    modules = Path("src", PACKAGE, "modules")
    cell.suite(str(modules / "billing"), str(modules / "faq"))
    cell.suite()


@dataclass(frozen=True)
class Profile:
    answers: dict[str, str]
    then: Callable[[Cell, TemplateRepo, State], None]


PROFILES = {
    "default": Profile({}, add_knowledge_base_faq),
    "no-worker": Profile({"with_worker": "false"}, turn_the_worker_on),
}


@pytest.fixture(params=list(PROFILES))
def cell(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cell]:
    """A cell's product directory and database; afterwards no server of it is left running."""
    name: str = request.param
    with cell_database(name) as database_url:
        project = tmp_path / "acme-support"
        made = Cell(name, PROFILES[name].answers, project, product_env(database_url))
        try:
            yield made
        finally:
            stopped = stop_embedded_postgres(project)
            if stopped:
                print(f"[{name}] stopped embedded PostgreSQL left running: {stopped}")


def test_a_product_of_the_previous_release_updates_migrates_and_stays_green(
    cell: Cell, template_repo: TemplateRepo
) -> None:
    database = "DATABASE_URL's server" if "DATABASE_URL" in cell.env else "embedded PostgreSQL"
    print(f"[{cell.name}] {template_repo.old} -> {template_repo.new} on {database}")
    started = time.monotonic()
    try:
        with cell.step(f"copy {template_repo.old} with bootstrap"):
            copy_previous_release(cell, template_repo)
        with cell.step("product edits with the old tools"):
            make_product_edits(cell)
            before = current_state(cell)
        with cell.step(f"copier update to {template_repo.new}"):
            update(cell, template_repo)
            assert product_edits.missing_edits(cell.project) == []
        with cell.step("uv sync, migrate, data and bootstrap checks"):
            sync_and_migrate(cell)
            assert_untouched(cell, before)
            check_modules(cell, "billing")
        with cell.step("the product's whole suite"):
            cell.suite()
        with cell.step(PROFILES[cell.name].then.__name__.replace("_", " ")):
            PROFILES[cell.name].then(cell, template_repo, before)
    finally:
        print(f"[{cell.name}] cell: {time.monotonic() - started:.1f} s", flush=True)
