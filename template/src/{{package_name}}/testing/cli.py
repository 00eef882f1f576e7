"""The product's command line run in a child process, as an operator runs it (tests only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..core.project import PACKAGE_NAME


def staging_environment(database_url: str, **extra: str) -> dict[str, str]:
    """Settings of a staging-like process: secrets made for tests, HiAgent on a closed port."""
    return {
        "APP_ENV": "staging",
        "DATABASE_URL": database_url,
        "HIAGENT_JWT_SECRET": "j" * 48,
        "VOLC_ACCESSKEY": "ak-for-tests",
        "VOLC_SECRETKEY": "sk-for-tests",
        "HIAGENT_TOP_ENDPOINT": "http://127.0.0.1:9",
        "HIAGENT_APP_BASE_URL": "http://127.0.0.1:9/api/proxy/api/v1",
        "HIAGENT_ADMIN_PASSWORD": "a-real-password-42",
        **extra,
    }


def without_product_settings() -> dict[str, str]:
    """This process's environment without the product's own settings (HiAgent, VOLC, database)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HIAGENT_", "VOLC_"))}
    base.pop("DATABASE_URL", None)
    return base


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m <package> *args` with `env` over a clean environment; never raises on exit."""
    return subprocess.run(  # noqa: S603 - the product's own module, with arguments from tests
        [sys.executable, "-m", PACKAGE_NAME, *args],
        env={**without_product_settings(), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
