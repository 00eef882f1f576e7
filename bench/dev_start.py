"""How long a developer waits: warm `dev` to ready; with --cold, the quickstart from empty caches.

Renders the default product (worker, dashboard, example) with `hiagent-template new`, the
quickstart's path, then starts `uv run <slug> dev` as a person does (reload on) several times
and reports the time from the command to `/health/ready` answering 200, with the moment each
line of `dev` appeared, so the slow step shows. The load average is printed beside every figure:
the machine may be shared.

    uv run nox -s bench_dev_start                  # warm dev, 5 runs
    uv run nox -s bench_dev_start -- --cold        # also the quickstart with empty uv/npm caches
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SLUG = "bench-dev"
READY_WITHIN_S = 300.0


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} on {os.cpu_count()} CPUs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed_lines(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run to the end; each printed line prefixed with the seconds since the start."""
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines = [f"{time.monotonic() - started:6.1f} s  {line.rstrip()}" for line in process.stdout]
    return process.wait(), lines


def new_product(destination: Path, env: dict[str, str]) -> list[str]:
    """`hiagent-template new` with the default answers (bootstrap included), timed per line."""
    command = [sys.executable, "-c", "from hiagent_template.cli import main; main()", "new"]
    code, lines = timed_lines(
        [*command, str(destination), "--defaults", "--project-name", "Bench Dev"], REPO, env
    )
    if code != 0:
        sys.exit("\n".join(["hiagent-template new failed:", *lines]))
    return lines


def dev_to_ready(project: Path, env: dict[str, str], *, reload: bool) -> tuple[float, list[str]]:
    """Seconds from `uv run <slug> dev` to /health/ready = 200; then Ctrl-C, as a person does."""
    port = free_port()
    command = ["uv", "run", "-q", SLUG, "dev", "--port", str(port)]
    command += [] if reload else ["--no-reload"]
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        command,
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(f"{time.monotonic() - started:6.1f} s  {line.rstrip()}")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while True:
            elapsed = time.monotonic() - started
            if process.poll() is not None or elapsed > READY_WITHIN_S:
                sys.exit("\n".join(["dev did not become ready:", *lines]))
            try:
                url = f"http://127.0.0.1:{port}/health/ready"
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        ready = time.monotonic() - started
        lines.append(f"{ready:6.1f} s  (/health/ready answered 200)")
        return ready, lines
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole group
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm dev starts to time")
    parser.add_argument(
        "--cold", action="store_true", help="also time the quickstart, caches empty"
    )
    arguments = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DATABASE_URL")}
    with tempfile.TemporaryDirectory(prefix="bench-dev-") as scratch:
        # Unbuffered: each line's time is when it was printed, not when a buffer was flushed.
        env = {**base_env, "PYTHONUNBUFFERED": "1"}
        if arguments.cold:
            # Nothing downloaded or built before: uv's and npm's caches start empty.
            env.update(
                UV_CACHE_DIR=f"{scratch}/uv-cache",
                npm_config_cache=f"{scratch}/npm-cache",
            )
        print(f"[{load()}] rendering and bootstrapping the default product", flush=True)
        started = time.monotonic()
        steps = new_product(Path(scratch) / SLUG, env)
        made = time.monotonic() - started
        project = Path(scratch) / SLUG
        label = "cold (empty caches)" if arguments.cold else "warm caches"
        print(f"\nhiagent-template new, {label}: {made:.1f} s [{load()}]")
        print("\n".join(steps))
        # Where the bootstrap's time went (seconds since each step began; not what uv installed).
        log = (project / ".data" / "new.log").read_text(encoding="utf-8").splitlines()
        print(
            "\n".join(
                f"    {line}" for line in log if not line.lstrip(" .0123456789s").startswith("+ ")
            )
        )
        first, first_lines = dev_to_ready(project, env, reload=True)
        print(f"\nfirst dev to ready: {first:.1f} s [{load()}] (first start after bootstrap)")
        print("\n".join(first_lines))
        if arguments.cold:
            print(f"\ncold quickstart to a ready API: {made + first:.1f} s [{load()}]")
        for reload in (True, False):
            times = []
            for _ in range(arguments.runs):
                seconds, lines = dev_to_ready(project, env, reload=reload)
                times.append(seconds)
                print(f"  dev{'' if reload else ' --no-reload'}: {seconds:.2f} s [{load()}]")
            mode = "dev (reload on, the default)" if reload else "dev --no-reload"
            print(
                f"warm {mode} to ready: median {statistics.median(times):.2f} s, "
                f"min {min(times):.2f} s, max {max(times):.2f} s [{load()}]"
            )
            print("last run, each line with the time it appeared:")
            print("\n".join(lines))


if __name__ == "__main__":
    main()
