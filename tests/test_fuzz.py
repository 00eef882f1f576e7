"""Schemathesis against a running default product: no server error, no response off its schema.

The product (tests/running_product.py) serves on loopback with the HiAgent emulator behind it.
`st run` uses every check (`--checks all`) for a bounded time and every failure is printed,
grouped by check, operation and status code, with example requests. Every kind fails the test
except "Schema-valid request rejected" (ST202), which is printed only: JSON Schema cannot carry
the product's rules that span fields or depend on stored data (`start` before `end`, a question
for an agent's test run, no `variables` when a conversation continues), nor the NUL refusal the
fault tests require, so that check would flag them however well the schema is written. Its list
still shows constraints that could be declared (patterns, bounds): read it.
`FUZZ_MAX_TIME_S` changes the time given to `st run` (300 s by default: the session takes about
6 minutes in all).

The fuzzing account is a second admin, so no generated request can lock it out of the run: its
id is moved out of the range generated ids fall in, and the hooks in tests/st_hooks.py keep it a
signed-in admin and set aside two answers that are documented behaviour (see there).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .running_product import API, Product, create_user, login, move_user_id, running_product

pytestmark = pytest.mark.slow

MAX_TIME_S = int(os.environ.get("FUZZ_MAX_TIME_S", "300"))
FUZZER = "fuzzer"
# Far from what generated ids look like (small, or beyond int32), still a valid int4 key.
FUZZER_ID = 1_987_654_321
HOOKS = Path(__file__).with_name("st_hooks.py")
REPORTED_ONLY = {"ST202"}  # see the module docstring


def schemathesis_binary() -> str:
    beside = Path(sys.executable).with_name("st")
    found = str(beside) if beside.exists() else shutil.which("st")
    assert found, "schemathesis is missing: run `uv sync` in the template repo (dev group)"
    return found


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    with running_product(tmp_path_factory.mktemp("fuzz"), "fuzz") as running:
        yield running


def seed(product: Product) -> str:
    """Something to find behind every kind of path, and the fuzzing admin; returns its token."""
    admin = login(product, product.admin_username, product.admin_password)
    headers = {"Authorization": f"Bearer {admin}"}
    configs = [
        {"name": "ticket-triage", "app_key": "app-triage"},
        {"name": "support-bot", "app_key": "app-support", "description": "Answers customers"},
        {
            "name": "order-flow",
            "app_key": "app-flow",
            "config_type": "workflow",
            "workflow_id": "wf-orders",
        },
        {
            "name": "faq-search",
            "app_key": "app-faq",
            "config_type": "retriever",
            "dataset_ids": ["ds-faq"],
        },
        {
            "name": "order-lookup",
            "app_key": "app-tool",
            "config_type": "tool",
            "tool_id": "tool-orders",
        },
    ]
    for config in configs:
        response = httpx.post(
            product.url(f"{API}/agent-configs"), json=config, headers=headers, timeout=30
        )
        assert response.status_code == 201, response.text
    response = httpx.post(
        product.url(f"{API}/tickets"),
        json={"subject": "Where is my order?", "body": "Order 42 has not arrived."},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    password = create_user(product, admin, FUZZER, "admin")
    move_user_id(product, FUZZER, FUZZER_ID)
    return login(product, FUZZER, password)


def _body(message: dict[str, Any] | None) -> str:
    """A recorded body, shortened, with control characters escaped (NUL bytes included)."""
    if not message:
        return ""
    if "$base64" in message:
        raw = base64.b64decode(message["$base64"])
        text = raw[:300].decode("utf-8", errors="backslashreplace")
    else:
        text = str(message)[:300]
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def group_failures(ndjson: Path) -> dict[tuple[str, str, int | None], list[str]]:
    """(check code and title, operation, status) -> examples 'METHOD url [body] -> answer'."""
    groups: dict[tuple[str, str, int | None], list[str]] = defaultdict(list)
    with ndjson.open() as events:
        for line in events:
            if '"ScenarioFinished"' not in line[:40]:
                continue
            scenario = json.loads(line)["ScenarioFinished"]
            if scenario["status"] != "failure":
                continue
            recorder = scenario["recorder"]
            for case_id, checks in recorder["checks"].items():
                for check in checks:
                    if check["status"] != "failure":
                        continue
                    failure = check["failure_info"]["failure"]
                    interaction = recorder["interactions"].get(case_id) or {}
                    request = interaction.get("request") or {}
                    response = interaction.get("response") or {}
                    status = response.get("status_code")
                    key = (f"{failure['code']} {failure['title']}", failure["operation"], status)
                    body = _body(request.get("body"))
                    answer = _body(response.get("content"))
                    example = (
                        f"{request.get('method')} {request.get('uri')}"
                        + (f"  body={body}" if body else "")
                        + f"  -> {status} {answer[:200]}"
                    )
                    if example not in groups[key]:
                        groups[key].append(example)
    return groups


def test_schemathesis_finds_no_failures(product: Product, tmp_path: Path) -> None:
    token = seed(product)
    report_dir = tmp_path / "report"
    command = [
        schemathesis_binary(),
        "run",
        product.url("/openapi.json"),
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--max-examples",
        "25",
        "--max-time",
        str(MAX_TIME_S),
        # One worker: with two, Hypothesis describes lambdas from two threads at once and Python
        # 3.11's ast module raises "AST constructor recursion depth mismatch" (a SystemError that
        # aborts the coverage phase of an operation); the server is the bottleneck here anyway.
        "--workers",
        "1",
        # A request hanging this long is a finding (an error in the report), not a stuck run.
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--report",
        "json,ndjson",
        "--report-dir",
        str(report_dir),
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "FUZZ_PROTECTED_USER_ID": str(FUZZER_ID),
    }
    output = tmp_path / "schemathesis-output.txt"
    started = time.monotonic()
    with output.open("w") as printed:
        # cwd: a directory of its own, so no schemathesis.toml of a parent applies.
        result = subprocess.run(
            command,
            cwd=tmp_path,
            env=env,
            stdout=printed,
            stderr=subprocess.STDOUT,
            timeout=MAX_TIME_S + 180,
            check=False,
        )
    elapsed = time.monotonic() - started
    text = output.read_text(errors="replace")
    reports = sorted(report_dir.glob("json-*.json"))
    assert result.returncode in (0, 1), f"`st run` exited with {result.returncode}:\n{text[-5000:]}"
    assert reports, f"`st run` wrote no JSON report:\n{text[-5000:]}"
    report = json.loads(reports[-1].read_text())
    ndjson = sorted(report_dir.glob("ndjson-*.ndjson"))[-1]
    groups = group_failures(ndjson)
    ndjson.unlink()  # about 100 MB for a 5-minute run; the grouped list below keeps what matters

    operations = report["operations"]
    cases = report["test_cases"]
    by_code = ", ".join(
        f"{failure['code']} {failure['title']}: {failure['count']}"
        for failure in report["failures"]
    )
    errors = ", ".join(f"{error['title']}: {error['count']}" for error in report["errors"])
    blocking = [f for f in report["failures"] if f["code"] not in REPORTED_ONLY]
    phases = ", ".join(f"{name}={phase['status']}" for name, phase in report["phases"].items())
    lines = [
        f"FUZZ SUMMARY: {operations['tested']}/{operations['total']} operations tested, "
        f"{cases['generated']} test cases, {cases['unique_failures']} unique failures "
        f"({by_code or 'none'}; failing the test: {sum(f['count'] for f in blocking)}), "
        f"{sum(e['count'] for e in report['errors'])} errors "
        f"({errors or 'none'}) in {elapsed:.0f} s; seed {report['seed']}; "
        f"phases {phases}",
    ]
    for (check, operation, status), examples in sorted(groups.items(), key=lambda g: g[0][:2]):
        note = " [reported only]" if check.split()[0] in REPORTED_ONLY else ""
        lines.append(
            f"  {check}{note} | {operation} | {status} | {len(examples)} distinct request(s)"
        )
        lines.extend(f"      e.g. {example}" for example in examples[:2])
    summary = "\n".join(lines)
    (tmp_path / "failures.txt").write_text(summary + "\n")
    print(summary)
    print(f"(schemathesis output: {output}; grouped failures: {tmp_path / 'failures.txt'})")

    me = httpx.get(
        product.url(f"{API}/auth/me"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert me.status_code == 200, f"the fuzzing account was locked out: {me.status_code} {me.text}"
    assert me.json()["role"] == "admin", f"the fuzzing account lost its admin role: {me.text}"
    assert operations["tested"] == operations["total"], f"untested operations: {operations}"
    assert not report["errors"], f"schemathesis errors ({errors}):\n{text[-6000:]}"
    assert not blocking, f"{lines[0]} (grouped in the captured output)"
    assert result.returncode == 0 or report["failures"], (
        f"`st run` failed without a failure in its report:\n{text[-5000:]}"
    )
