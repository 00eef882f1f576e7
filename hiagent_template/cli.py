"""`hiagent-template new | update | doctor`: start, refresh and check HiAgent products."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from .doctor import run_checks
from .preview import (
    SUBDIRECTORY,
    Preview,
    SourceUnavailable,
    UpdateError,
    answer,
    build,
    source_of,
    template_history,
)

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
app = typer.Typer(
    name="hiagent-template",
    help="Create and maintain products from the HiAgent Backend Template.",
    no_args_is_help=True,
    add_completion=False,
)


# Read by hooks/bootstrap.py: each step's output goes there, one line each on the terminal.
LOG_VARIABLE = "HIAGENT_TEMPLATE_LOG"
NEW_LOG = Path(".data") / "new.log"  # in the product; .data/ is git-ignored


def _copier(*args: str, env: dict[str, str] | None = None) -> int:
    copier = shutil.which("copier")
    command = [copier] if copier else [sys.executable, "-m", "copier"]
    return subprocess.run([*command, *args], check=False, env=env).returncode  # noqa: S603


@app.command()
def new(
    destination: Annotated[Path, typer.Argument(help="Folder of the new product")],
    project_name: Annotated[str | None, typer.Option(help="Name of the product")] = None,
    defaults: Annotated[bool, typer.Option(help="Take every default answer")] = False,
    data: Annotated[
        list[str] | None, typer.Option("--data", "-d", help="Answer as KEY=VALUE (repeatable)")
    ] = None,
    vcs_ref: Annotated[str, typer.Option(help="Template version (git ref)")] = "HEAD",
    start: Annotated[bool, typer.Option(help="Run the product's `dev` command afterwards")] = False,
) -> None:
    """Render a new product (questions, validation, then bootstrap)."""
    if destination.exists() and any(destination.iterdir()):
        typer.secho(f"✗ {destination} exists and is not empty: choose a new folder.", fg="red")
        raise typer.Exit(code=2)
    answers = list(data or [])
    if project_name:
        answers.append(f"project_name={project_name}")
    created = not destination.exists()
    log = destination.resolve() / NEW_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    typer.echo(f"→ Rendering the product into {destination} (full output: {log})")
    # --quiet: no line per file created; the steps after it print one line each.
    args = ["copy", "--trust", "--quiet", f"--vcs-ref={vcs_ref}"]
    args += ["--defaults"] if defaults else []
    args += [f"--data={answer}" for answer in answers]
    code = _copier(
        *args, str(TEMPLATE_ROOT), str(destination), env={**os.environ, LOG_VARIABLE: str(log)}
    )
    if code != 0:
        if created:  # as Copier does with a folder it made: nothing half-made is left
            kept = Path(tempfile.gettempdir()) / f"{destination.name}-new.log"
            shutil.copyfile(log, kept)
            shutil.rmtree(destination)
            log = kept
        typer.secho(
            f"✗ copier copy failed (exit {code}); nothing usable was left (output: {log}).",
            fg="red",
        )
        raise typer.Exit(code=code)
    slug = _answer(destination, "project_slug")
    if start:
        typer.echo(f"→ Starting it: cd {destination} && uv run {slug} dev  (Ctrl-C stops it)")
        dev = ["uv", "run", "-q", slug, "dev"]
        raise typer.Exit(subprocess.run(dev, cwd=destination, check=False).returncode)  # noqa: S603
    typer.secho(f"✓ Ready. Start it with: cd {destination} && uv run {slug} dev", fg="green")


def _answer(project: Path, key: str) -> str:
    value = answer(project, key)
    if value is None:
        raise typer.BadParameter(f"{key} is missing from {project / '.copier-answers.yml'}")
    return value


def conflicts(project: Path) -> list[str]:
    """Files with conflict markers or `.rej` leftovers after an update."""
    found = [str(path.relative_to(project)) for path in project.rglob("*.rej")]
    unmerged = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=U"],  # noqa: S607
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    found += unmerged
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.parts or ".venv" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if "<<<<<<< before updating" in text or ">>>>>>> after updating" in text:
            found.append(str(path.relative_to(project)))
    return sorted(set(found))


@app.command()
def update(
    project: Annotated[Path, typer.Argument(help="Product folder")] = Path(),
    vcs_ref: Annotated[
        str | None,
        typer.Option(help="Template version (git ref); default: the newest tag, else HEAD"),
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Show what the update brings, change nothing")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking")] = False,
) -> None:
    """Show what the template changed since the product's version, then apply it.

    Asks before applying when run from a terminal; applies at once with --yes or without one.
    Fails, listing the files, when the update left conflicts or `.rej` files.
    """
    try:
        found = _preview(project, vcs_ref)
        if not preview:
            _require_clean(project)
    except UpdateError as exc:
        typer.secho(f"✗ {exc}", fg="red")
        raise typer.Exit(code=2) from exc
    if found is not None:
        _show(project, found)
    if preview:
        if found is None:
            raise typer.Exit(code=1)
        typer.echo("\nPreview only: nothing was changed.")
        return
    if not yes and _interactive() and not typer.confirm("\nApply this update?", default=False):
        typer.echo("Nothing was changed.")
        return
    ref = found.copier_ref if found is not None else vcs_ref
    args = ["update", "--trust", "--defaults"]
    args += [f"--vcs-ref={ref}"] if ref else []
    code = _copier(*args, str(project))
    if code != 0:
        raise typer.Exit(code=code)
    left = conflicts(project)
    if left:
        typer.secho("✗ The update left conflicts to resolve by hand:", fg="red")
        for name in left:
            typer.echo(f"  - {name}")
        raise typer.Exit(code=1)
    typer.secho("✓ Updated with no conflicts. Review with `git diff`, then commit.", fg="green")


def _preview(project: Path, vcs_ref: str | None) -> Preview | None:
    """The update's changes; None (after saying why) when the template's history is out of reach."""
    src_path = source_of(project)
    try:
        with template_history(src_path) as repo:
            return build(project, repo, src_path, vcs_ref)
    except SourceUnavailable as exc:
        typer.secho(f"! Cannot show the changes: {exc}.", fg="yellow")
        typer.echo("  Copier may still reach the template; the update can be applied unseen.")
        return None


def _require_clean(project: Path) -> None:
    status = subprocess.run(
        ["git", "status", "--porcelain"],  # noqa: S607
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if status.returncode != 0:
        raise UpdateError(
            f"{project} is not a git repository: Copier updates only committed products "
            "(git init, git add -A, git commit)."
        )
    if status.stdout.strip():
        raise UpdateError(
            f"{project} has uncommitted changes: commit or stash them first "
            "(--preview works on a dirty tree)."
        )


def _show(project: Path, found: Preview) -> None:
    typer.secho(f"Template update for {project.resolve()}", bold=True)
    typer.echo(f"  template: {found.source}")
    typer.echo(f"  from:     {found.current or 'unknown'}")
    typer.echo(f"  to:       {found.target} ({found.target_commit[:7]})")
    for note in found.notes:
        typer.secho(f"! {note}", fg="yellow")
    if found.up_to_date:
        typer.echo("\nThe product already has this version: the update only replays the answers.")
        return
    typer.secho("\nChangelog", bold=True)
    if not found.releases:
        typer.echo("  (no entries between these versions)")
    for release in found.releases:
        typer.echo(f"  {release.heading}")
        for line in release.body.splitlines():
            typer.echo(f"  {line}".rstrip())
    if found.current_commit is None:
        return
    typer.secho(f"\nTemplate commits ({len(found.commits)})", bold=True)
    for line in found.commits:
        typer.echo(f"  {line}")
    typer.secho(f"\nChanged under {SUBDIRECTORY}/", bold=True)
    typer.echo(found.stat or "  (nothing)")


def _interactive() -> bool:
    """True when someone can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()


@app.command()
def doctor(
    project: Annotated[Path, typer.Argument(help="Product folder (optional)")] = Path(),
) -> None:
    """Check this machine and a product: each check gets a verdict and a fix."""
    results = run_checks(project)
    for result in results:
        mark = {"ok": "✓", "warn": "!", "fail": "✗"}[result.verdict]
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}[result.verdict]
        typer.secho(f"{mark} {result.name}: {result.detail}", fg=colour)
        if result.fix and result.verdict != "ok":
            typer.echo(f"    fix: {result.fix}")
    if any(result.verdict == "fail" for result in results):
        raise typer.Exit(code=1)


def main() -> None:
    """Console-script entry point."""
    app()
