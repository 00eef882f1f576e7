"""The project's `.env`: generated secrets for local use, never committed (it is git-ignored)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV_FILE = Path(".env")
GENERATED_SECRETS = ("HIAGENT_JWT_SECRET", "HIAGENT_ADMIN_PASSWORD")


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """KEY=VALUE pairs of a dotenv file (comments and blank lines skipped)."""
    if not path.exists():
        return {}
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def ensure_env_file(path: Path = ENV_FILE) -> list[str]:
    """Add generated secrets missing from `path` (and from the environment).

    Returns the names that were generated. The file is created readable by its owner only.
    """
    existing = read_env_file(path)
    generated = {
        name: secrets.token_urlsafe(48 if name == "HIAGENT_JWT_SECRET" else 18)
        for name in GENERATED_SECRETS
        if name not in existing and not os.environ.get(name)
    }
    if not generated:
        return []
    lines = (
        []
        if path.exists()
        else ["# Local secrets, generated: never commit this file.", "APP_ENV=dev"]
    )
    lines += [f"{name}={value}" for name, value in generated.items()]
    with path.open("a", encoding="utf-8") as handle:
        if path.stat().st_size and not path.read_text(encoding="utf-8").endswith("\n"):
            handle.write("\n")
        handle.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return list(generated)
