"""Copy-time bootstrap of a rendered product: git, .env secrets, install, migrate, admin.

Each step says what failed and the command to rerun it. The project-side logic lives in the
product's own idempotent `bootstrap` command, so containers use the same code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_answers import read_answers
from git_init import init_and_commit


def step(title: str, command: list[str], rerun: str) -> None:
    """Run one step, streaming its output; on failure explain and exit 1."""
    print(f"→ {title}", flush=True)
    try:
        subprocess.run(command, check=True)
    except FileNotFoundError:
        print(
            f"✗ {title} failed: {command[0]} is not installed.\n  Rerun: {rerun}", file=sys.stderr
        )
        sys.exit(1)
    except subprocess.CalledProcessError as exc:
        print(f"✗ {title} failed (exit {exc.returncode}).\n  Rerun: {rerun}", file=sys.stderr)
        sys.exit(1)


def find_uv() -> str:
    """The uv executable, or exit with how to install it."""
    uv = shutil.which("uv")
    if uv is None:
        print(
            "✗ uv is not installed. Install it (`python3 -m pip install uv`), then run:\n"
            "  uv sync && uv run <slug> bootstrap",
            file=sys.stderr,
        )
        sys.exit(1)
    return uv


def main() -> int:
    """Bootstrap the project in the current directory."""
    answers = read_answers()
    slug = answers["project_slug"]
    try:
        init_and_commit()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(
            f"✗ git init failed: {exc}\n  Rerun: git init && git add -A && git commit -m init",
            file=sys.stderr,
        )
        return 1
    print("✓ git repository created with a first commit", flush=True)
    uv = find_uv()
    step("Installing dependencies into .venv", [uv, "sync"], "uv sync")
    os.environ.setdefault("APP_ENV", "dev")
    step(
        "Migrating the database and creating the admin",
        [uv, "run", "--no-sync", slug, "bootstrap"],
        f"uv run {slug} bootstrap",
    )
    print(f"✓ Ready. Start it with: cd {Path.cwd()} && uv run {slug} dev", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
