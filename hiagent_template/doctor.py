"""Checks behind `hiagent-template doctor`: tools, services, HiAgent endpoints, answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

Verdict = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class CheckResult:
    """One line of the doctor's report."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""


def _version(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=10)  # noqa: S603
    return (
        (result.stdout or result.stderr).strip().splitlines()[0] if result.returncode == 0 else None
    )


def check_python() -> CheckResult:
    """The `python3` on PATH is 3.11 or newer (products are created with it)."""
    found = _version(["python3", "--version"])
    if found is None:
        return CheckResult("Python", "fail", "python3 not found", "install Python 3.11 or newer")
    parts = found.split()[-1].split(".")
    if (int(parts[0]), int(parts[1])) >= (3, 11):
        return CheckResult("Python", "ok", found)
    return CheckResult("Python", "fail", f"{found} is too old", "install Python 3.11 or newer")


def check_tool(name: str, command: list[str], fix: str, *, required: bool = True) -> CheckResult:
    """A command-line tool is installed."""
    version = _version(command)
    if version:
        return CheckResult(name, "ok", version)
    return CheckResult(name, "fail" if required else "warn", "not found", fix)


def _reachable(host: str, port: int, timeout: float = 1.5) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def check_service(name: str, url_env: str, default_host: str, default_port: int) -> CheckResult:
    """A TCP service answers; unset means the embedded one will be used in dev."""
    url = os.environ.get(url_env)
    if not url:
        problem = _reachable(default_host, default_port)
        if problem is None:
            return CheckResult(
                name, "ok", f"{default_host}:{default_port} answers ({url_env} unset)"
            )
        return CheckResult(
            name,
            "warn",
            f"{url_env} unset; `dev` will start an embedded one",
            f"set {url_env} to use a server instead",
        )
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or default_port
    problem = _reachable(host, port)
    if problem is None:
        return CheckResult(name, "ok", f"{host}:{port} answers")
    return CheckResult(
        name,
        "fail",
        f"{host}:{port} cannot be reached: {problem}",
        f"start {name} or correct {url_env}",
    )


def check_redis() -> CheckResult:
    """Redis at REDIS_HOST:REDIS_PORT (standalone), or the sentinels of REDIS_SENTINELS."""
    sentinels = os.environ.get("REDIS_SENTINELS")
    if sentinels:
        first = sentinels.split(",")[0].strip()
        sentinel_host, _, sentinel_port = first.rpartition(":")
        problem = _reachable(sentinel_host or first, int(sentinel_port or 26379))
        if problem is None:
            return CheckResult("Redis", "ok", f"sentinel {first} answers")
        return CheckResult(
            "Redis",
            "fail",
            f"sentinel {first}: {problem}",
            "start the sentinels or correct REDIS_SENTINELS",
        )
    host = os.environ.get("REDIS_HOST", "127.0.0.1")
    port_number = int(os.environ.get("REDIS_PORT", "6379"))
    problem = _reachable(host, port_number)
    if problem is None:
        return CheckResult("Redis", "ok", f"{host}:{port_number} answers")
    verdict: Verdict = "fail" if "REDIS_HOST" in os.environ else "warn"
    return CheckResult(
        "Redis",
        verdict,
        f"{host}:{port_number}: {problem}",
        "start Redis, set REDIS_HOST/REDIS_PORT, or let `dev` embed one",
    )


def check_hiagent() -> list[CheckResult]:
    """HiAgent endpoint syntax (explicit port, no trailing slash) and reachability."""
    top = os.environ.get("HIAGENT_TOP_ENDPOINT")
    base = os.environ.get("HIAGENT_APP_BASE_URL")
    if not top and not base:
        return [
            CheckResult(
                "HiAgent",
                "warn",
                "endpoints unset: `dev` uses the local emulator",
                "set HIAGENT_TOP_ENDPOINT and HIAGENT_APP_BASE_URL for a real platform",
            )
        ]
    results = []
    for name, value in (("HIAGENT_TOP_ENDPOINT", top), ("HIAGENT_APP_BASE_URL", base)):
        if not value:
            results.append(CheckResult(name, "fail", "unset", f"set {name}"))
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            results.append(
                CheckResult(name, "fail", f"{value!r} is not a URL", "use https://host:port/...")
            )
            continue
        if name == "HIAGENT_TOP_ENDPOINT" and parts.port is None:
            results.append(
                CheckResult(
                    name,
                    "fail",
                    "no explicit port (the SDK needs one)",
                    f"use {parts.scheme}://{parts.hostname}:443",
                )
            )
            continue
        if value.endswith("/"):
            results.append(CheckResult(name, "warn", "trailing slash", "remove the final /"))
            continue
        port = parts.port or (443 if parts.scheme == "https" else 80)
        problem = _reachable(parts.hostname, port)
        if problem:
            results.append(
                CheckResult(
                    name,
                    "fail",
                    f"{parts.hostname}:{port}: {problem}",
                    "check the URL, the network path and any proxy",
                )
            )
        else:
            results.append(CheckResult(name, "ok", f"{parts.hostname}:{port} answers"))
    return results


def check_answers(project: Path) -> CheckResult:
    """The product's answers file exists and records where the template came from."""
    answers = project / ".copier-answers.yml"
    if not answers.exists():
        return CheckResult(
            "Answers file",
            "warn",
            f"no {answers} (not a rendered product?)",
            "run doctor inside a product folder",
        )
    text = answers.read_text(encoding="utf-8")
    missing = [key for key in ("_src_path", "_commit", "project_slug") if f"{key}:" not in text]
    if missing:
        return CheckResult(
            "Answers file",
            "fail",
            f"missing {', '.join(missing)}",
            "restore .copier-answers.yml from git history",
        )
    return CheckResult("Answers file", "ok", str(answers))


def run_checks(project: Path) -> list[CheckResult]:
    """Every check, in the order a person would fix them."""
    return [
        check_python(),
        check_tool("uv", ["uv", "--version"], "python3 -m pip install uv"),
        check_tool("git", ["git", "--version"], "install git (apt-get install git)"),
        check_tool(
            "Node.js",
            ["node", "--version"],
            "install Node.js 20 or newer (for the dashboard)",
            required=False,
        ),
        check_service("PostgreSQL", "DATABASE_URL", "127.0.0.1", 5432),
        check_redis(),
        *check_hiagent(),
        check_answers(project),
    ]
