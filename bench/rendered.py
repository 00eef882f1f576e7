"""Shared by the benchmarks: render a lean product from this template and install it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The benchmarks measure the API and the gateway: the optional parts would only add noise.
LEAN_ANSWERS = {
    "with_worker": "false",
    "with_dashboard": "false",
    "with_example_module": "false",
    "run_bootstrap": "false",
}


def log(message: str) -> None:
    """A timestamped progress line."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextmanager
def rendered_project(name: str) -> Iterator[Path]:
    """The template (HEAD plus local changes) rendered into a temporary folder."""
    slug = name.lower().replace(" ", "-")
    with tempfile.TemporaryDirectory(prefix=f"{slug}-") as folder:
        project = Path(folder) / slug
        log(f"rendering the template into {project}")
        answers = {"project_name": name, **LEAN_ANSWERS}
        subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [
                sys.executable,
                "-m",
                "copier",
                "copy",
                "--trust",
                "--defaults",
                "--vcs-ref=HEAD",
                "--quiet",
                *(f"--data={key}={value}" for key, value in answers.items()),
                str(REPO),
                str(project),
            ],
            check=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        yield project


def install(project: Path) -> Path:
    """`uv sync` the project; returns its Python."""
    # Compiled as the image compiles it (UV_COMPILE_BYTECODE): cold starts compare like for like
    # even where PYTHONDONTWRITEBYTECODE is set.
    subprocess.run(["uv", "sync", "--quiet", "--compile-bytecode"], cwd=project, check=True)  # noqa: S607 - uv on PATH
    python = project / ".venv" / "bin" / "python"
    # The project itself is installed editable, which uv does not compile.
    subprocess.run([python, "-m", "compileall", "-q", "src"], cwd=project, check=True)  # noqa: S603
    return python


def run_in_project(script: str, name: str, project: Path | None, passed: list[str]) -> int:
    """Render `name` (unless `project` is given), install it, and run `script --inside` there.

    The benchmark then runs with the project's own Python; `passed` are its options.
    """
    if project is not None:
        return _run_inside(script, project.resolve(), passed)
    with rendered_project(name) as rendered:
        return _run_inside(script, rendered, passed)


def _run_inside(script: str, project: Path, passed: list[str]) -> int:
    python = install(project)
    command = [str(python), str(Path(script).resolve()), "--inside", *passed]
    return subprocess.run(command, cwd=project, check=False).returncode  # noqa: S603
