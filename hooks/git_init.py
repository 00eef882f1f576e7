"""Make the rendered project a git repository with a first commit (so `copier update` works).

Idempotent: does nothing inside an existing repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Used only when the machine has no git identity, so the first commit never fails.
FALLBACK_IDENTITY = [
    "-c",
    "user.name=HiAgent Template",
    "-c",
    "user.email=template@example.invalid",
]


def _git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        check=check,
        capture_output=True,
        text=True,
    )


def has_identity() -> bool:
    """True when git knows who commits."""
    name = _git("config", "user.name", check=False).stdout.strip()
    email = _git("config", "user.email", check=False).stdout.strip()
    return bool(name and email)


def init_and_commit(message: str = "Initial commit from the HiAgent template") -> None:
    """`git init` and commit everything not ignored."""
    if Path(".git").exists():
        return
    _git("init", "-q", "-b", "main")
    _git("add", "-A")
    identity = [] if has_identity() else FALLBACK_IDENTITY
    _git(*identity, "commit", "-q", "--no-verify", "-m", message)


def main() -> int:
    """Run as a Copier task; explains and returns 1 on failure."""
    try:
        init_and_commit()
    except FileNotFoundError:
        print(
            "✗ git init failed: git is not installed. Install git, then run: "
            "git init && git add -A && git commit -m 'Initial commit'",
            file=sys.stderr,
        )
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"✗ git init failed: {exc.stderr.strip()}\n  Rerun: git init && git add -A && "
            "git commit -m 'Initial commit'",
            file=sys.stderr,
        )
        return 1
    print("✓ git repository created with a first commit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
