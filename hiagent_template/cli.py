"""`hiagent-template new | update | doctor`: start, refresh and check HiAgent products."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from .doctor import run_checks

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
app = typer.Typer(
    name="hiagent-template",
    help="Create and maintain products from the HiAgent Backend Template.",
    no_args_is_help=True,
    add_completion=False,
)


def _copier(*args: str) -> int:
    copier = shutil.which("copier")
    command = [copier] if copier else [sys.executable, "-m", "copier"]
    return subprocess.run([*command, *args], check=False).returncode  # noqa: S603


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
    args = ["copy", "--trust", f"--vcs-ref={vcs_ref}"]
    args += ["--defaults"] if defaults else []
    args += [f"--data={answer}" for answer in answers]
    code = _copier(*args, str(TEMPLATE_ROOT), str(destination))
    if code != 0:
        typer.secho(f"✗ copier copy failed (exit {code}); nothing usable was left.", fg="red")
        raise typer.Exit(code=code)
    if start:
        slug = _answer(destination, "project_slug")
        raise typer.Exit(
            subprocess.run(["uv", "run", slug, "dev"], cwd=destination, check=False).returncode  # noqa: S603,S607
        )


def _answer(project: Path, key: str) -> str:
    for line in (project / ".copier-answers.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{key}:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    raise typer.BadParameter(f"{key} is missing from {project / '.copier-answers.yml'}")


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
    vcs_ref: Annotated[str | None, typer.Option(help="Template version (git ref)")] = None,
) -> None:
    """Pull template improvements; fails listing files left with conflicts."""
    args = ["update", "--trust", "--defaults"]
    args += [f"--vcs-ref={vcs_ref}"] if vcs_ref else []
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
