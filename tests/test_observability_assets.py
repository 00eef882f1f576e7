"""The product's observability assets: Prometheus alert rules, their unit tests, an example
Prometheus configuration and a Grafana dashboard, under `deploy/observability/`.

`promtool` (from Debian's `prometheus` package: `.ci/run` unpacks it when it is missing, without
installing or starting a Prometheus server) checks and unit-tests the rules of the default and the
worker-off profiles. Every metric that an alert or a dashboard panel names must be one a really
running product exposes: a default product and its worker are started on loopback, given traffic
(calls that work and calls that fail until a breaker opens, a ticket whose event is handled, a
task that runs and one that fails), and their `/metrics` read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import DEFAULT_PROFILE, Profile, render
from .running_product import (
    API,
    SLUG,
    Product,
    free_port,
    login,
    running_product,
    stop,
    wait_for_port,
)

PROFILES = {
    "default": DEFAULT_PROFILE,
    "no-worker": Profile(False, None, False, False),
}
ASSETS = Path("deploy/observability")
# Alerts every product has, and those only a product with the worker has.
ALERTS = {
    "HiAgentErrorRateHigh",
    "HiAgentBreakerOpen",
    "HiAgentLatencyHigh",
    "ApiLatencyHigh",
    "DatabaseDown",
    "EventProcessingLagging",
}
WORKER_ALERTS = {"WorkerDown", "TaskQueueBacklog", "TaskQueueUnavailable"}
# The one series the rules read that no product exports: Prometheus records it per target.
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
PROMQL_WORDS |= {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def promtool() -> str:
    """promtool from PROMTOOL or PATH (`.ci/run` unpacks it from Debian's prometheus package)."""
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    assert found, (
        "promtool is missing: run .ci/run, or unpack it without a server: "
        "`apt-get download prometheus && dpkg -x prometheus_*.deb DIR`, then put DIR/usr/bin "
        "on PATH (or set PROMTOOL)"
    )
    return found


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("observability")

    def one(name: str) -> tuple[str, Path]:
        result = render(root / name, PROFILES[name].data())
        assert result.returncode == 0, f"{name}: {result.stderr}"
        return name, root / name

    with ThreadPoolExecutor(max_workers=len(PROFILES)) as pool:
        return dict(pool.map(one, PROFILES))


def rules(project: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load((project / ASSETS / "prometheus/alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((project / ASSETS / "grafana/dashboard.json").read_text())
    return loaded


def panel_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, keywords and labels left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        word, is_call = match.group(1), match.group(2)
        if not is_call and word.lower() not in PROMQL_WORDS:
            names.add(word)
    return names


def runbook_prefix(name: str) -> str:
    return "/runbooks/" if PROFILES[name].with_dashboard else "/api/v1/runbooks/"


# --- the rules and their unit tests (promtool) ------------------------------------------------


def test_metric_names_are_read_from_promql_as_prometheus_would() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (job, le) (rate(x_seconds_bucket{job="a", le!="1"}'
        '[$__rate_interval] offset 5m))) > 1e3 and on (job) up{job="b"} == 0 '
        "or absent(y_total) unless sum without (instance) (z) * 60"
    )
    assert metric_names(expr) == {"x_seconds_bucket", "up", "y_total", "z"}


@pytest.mark.parametrize("name", PROFILES)
def test_alert_rules_pass_promtool_check(projects: dict[str, Path], name: str) -> None:
    folder = projects[name] / ASSETS / "prometheus"
    result = run_promtool("check", "rules", "alerts.yml", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(ALERTS | (WORKER_ALERTS if PROFILES[name].with_worker else set()))
    assert f"SUCCESS: {count} rules found" in result.stdout


@pytest.mark.parametrize("name", PROFILES)
def test_alert_rules_pass_their_unit_tests(projects: dict[str, Path], name: str) -> None:
    folder = projects[name] / ASSETS / "prometheus"
    result = run_promtool("test", "rules", "alerts.test.yml", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("name", PROFILES)
def test_every_alert_is_tested_firing_and_quiet(projects: dict[str, Path], name: str) -> None:
    project = projects[name]
    names = {rule["alert"] for rule in rules(project)}
    expected = ALERTS | (WORKER_ALERTS if PROFILES[name].with_worker else set())
    assert names == expected
    suite = yaml.safe_load((project / ASSETS / "prometheus/alerts.test.yml").read_text())
    cases = [case for test in suite["tests"] for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert firing == expected, f"no firing case for {expected - firing}"
    assert quiet == expected, f"no quiet case for {expected - quiet}"


@pytest.mark.parametrize("name", PROFILES)
def test_example_prometheus_configuration_passes_promtool(
    projects: dict[str, Path], name: str
) -> None:
    folder = projects[name] / ASSETS / "prometheus"
    result = run_promtool("check", "config", "prometheus.yml", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((folder / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    slug = PROFILES[name].data()["project_slug"]
    assert jobs == {f"{slug}-api"} | ({f"{slug}-worker"} if PROFILES[name].with_worker else set())
    assert config["rule_files"] == ["alerts.yml"]
    # The jobs the rules select are the ones scraped.
    selected = set()
    for rule in rules(projects[name]):
        selected |= set(re.findall(r'job=~?"([^"]+)"', rule["expr"]))
    assert all(any(re.fullmatch(pattern, job) for job in jobs) for pattern in selected), selected


# --- the Grafana dashboard --------------------------------------------------------------------


@pytest.mark.parametrize("name", PROFILES)
def test_dashboard_is_importable_grafana_json(projects: dict[str, Path], name: str) -> None:
    board = dashboard(projects[name])
    inputs = {item["name"]: item for item in board["__inputs"]}
    assert inputs["DS_PROMETHEUS"]["type"] == "datasource"
    assert inputs["DS_PROMETHEUS"]["pluginId"] == "prometheus"
    assert inputs["VAR_PRODUCT_URL"]["type"] == "constant"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", board["uid"])
    assert board["title"] == PROFILES[name].data()["project_name"]
    variables = {item["name"]: item for item in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["current"]["value"] == "${DS_PROMETHEUS}"
    assert variables["product_url"]["query"] == "${VAR_PRODUCT_URL}"

    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert grid["h"] > 0, panel["title"]
        if panel["type"] in ("row", "text"):
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert metric_names(target["expr"]), panel["title"]
    # No two panels overlap on the grid.
    cells = [
        (x, y)
        for panel in board["panels"]
        for x in range(panel["gridPos"]["x"], panel["gridPos"]["x"] + panel["gridPos"]["w"])
        for y in range(panel["gridPos"]["y"], panel["gridPos"]["y"] + panel["gridPos"]["h"])
    ]
    assert len(cells) == len(set(cells))
    task_panels = [title for title, expr in panel_queries(board) if "task_" in expr]
    assert bool(task_panels) == PROFILES[name].with_worker


@pytest.mark.parametrize("name", PROFILES)
def test_alerts_and_dashboard_link_the_same_runbooks_and_they_exist(
    projects: dict[str, Path], name: str
) -> None:
    project, prefix = projects[name], runbook_prefix(name)
    board = dashboard(project)
    text = next(panel for panel in board["panels"] if panel["type"] == "text")
    dashboard_links = set(re.findall(r"\]\((\S+?)\)", text["options"]["content"]))
    dashboard_links |= {link["url"] for panel in board["panels"] for link in panel.get("links", [])}
    for rule in rules(project):
        notes = rule["annotations"]
        slug = notes["runbook"]
        page = project / "runbooks" / f"{slug}.md"
        assert page.is_file(), f"{rule['alert']}: no runbooks/{slug}.md"
        assert page.read_text().startswith("---\ntitle: "), page
        assert notes["runbook_url"].endswith(f"}}{prefix}{slug}"), notes["runbook_url"]
        assert notes["runbook_url"].startswith("{{ with $externalLabels.product_url }}")
        assert f"${{product_url}}{prefix}{slug}" in dashboard_links, (rule["alert"], slug)
    for link in dashboard_links:
        slug = link.removeprefix(f"${{product_url}}{prefix}")
        if link != f"${{product_url}}{prefix.rstrip('/')}":
            assert (project / "runbooks" / f"{slug}.md").is_file(), link


# --- every metric named is one a running product exposes --------------------------------------


@dataclass(frozen=True)
class Scrape:
    api: set[str]
    worker: set[str]


def sample_names(exposition: str) -> set[str]:
    """Names of the samples in a Prometheus text exposition (declared-only metrics left out)."""
    return {
        re.split(r"[{\s]", line, maxsplit=1)[0]
        for line in exposition.splitlines()
        if line.strip() and not line.startswith("#")
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for_task(product: Product, token: str, task_id: str, seconds: float = 90) -> str:
    """The task's final status; it must have been run by the worker, not inline by the API."""
    deadline = time.monotonic() + seconds
    status = "?"
    while time.monotonic() < deadline:
        response = httpx.get(product.url(f"{API}/tasks/{task_id}"), headers=bearer(token))
        assert response.status_code == 200, response.text
        task = response.json()
        status = task["status"]
        if status in ("succeeded", "failed"):
            assert task["inline"] is False, task
            return str(status)
        time.sleep(0.5)
    pytest.fail(f"task {task_id} still {status} after {seconds} s:\n{product.log_tail()}")


def drive_traffic(product: Product) -> None:
    """Calls that work and fail (until the breaker opens), a handled event, tasks, readiness."""
    token = login(product, product.admin_username, product.admin_password)
    emulator = product.env["HIAGENT_TOP_ENDPOINT"]
    failing = httpx.put(
        f"{emulator}/_emulator/scenarios/obs-failing",
        json={"failure": {"kind": "http_error", "status": 500}},
        timeout=10,
    )
    assert failing.status_code == 200, failing.text
    with httpx.Client(base_url=product.url(API), headers=bearer(token), timeout=60) as client:
        for name in ("obs-working", "obs-failing"):
            created = client.post("/agent-configs", json={"name": name, "app_key": name})
            assert created.status_code == 201, created.text
        for _ in range(3):
            answer = client.post("/agents/obs-working/invoke", json={"query": "Hello?"})
            assert answer.status_code == 200, answer.text
        statuses = {
            client.post("/agents/obs-failing/invoke", json={"query": "Hello?"}).status_code
            for _ in range(12)
        }
        assert statuses <= {502, 503}, statuses
        assert 503 in statuses, statuses  # the breaker opened
        ticket = client.post("/tickets", json={"subject": "Printer", "body": "It is on fire."})
        assert ticket.status_code == 201, ticket.text
        outcomes = []
        for name in ("obs-working", "obs-failing"):
            task = client.post(f"/agents/{name}/tasks", json={"query": "Later, please."})
            assert task.status_code == 202, task.text
            outcomes.append(wait_for_task(product, token, task.json()["task_id"]))
        assert outcomes == ["succeeded", "failed"]
    assert httpx.get(product.url("/health/ready"), timeout=10).status_code == 200


def scrape_until(urls: dict[str, str], needed: set[str], seconds: float = 30) -> Scrape:
    """The sample names of the API and the worker, read again until `needed` are among them."""
    deadline = time.monotonic() + seconds
    while True:
        names = {role: sample_names(httpx.get(url, timeout=10).text) for role, url in urls.items()}
        if needed <= names["api"] | names["worker"] or time.monotonic() > deadline:
            return Scrape(names["api"], names["worker"])
        time.sleep(1)


@pytest.fixture(scope="module")
def scrape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrape]:
    workdir = tmp_path_factory.mktemp("observability-live")
    # One attempt per task, so the failing task fails for good at once.
    with running_product(workdir, "observability", {"TASK_MAX_ATTEMPTS": "1"}) as product:
        port = free_port()
        binary = str(product.project / ".venv" / "bin" / SLUG)
        with (workdir / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [
                    binary,
                    "worker",
                    "--processes",
                    "1",
                    "--threads",
                    "2",
                    "--metrics-port",
                    str(port),
                ],
                cwd=product.project,
                env=product.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(port, worker, 90)
            drive_traffic(product)
            # The ticket's event is handled in the background, by the API or the worker.
            urls = {"api": product.url("/metrics"), "worker": f"http://127.0.0.1:{port}/metrics"}
            yield scrape_until(urls, {"events_processed_total", "task_failures_total"})
        finally:
            stop(worker)


def test_every_metric_the_assets_name_is_exposed_by_a_running_product(
    projects: dict[str, Path], scrape: Scrape
) -> None:
    exposed = scrape.api | scrape.worker
    counts = f"{len(scrape.api)} on the API, {len(scrape.worker)} on the worker"
    print(f"sample names after traffic: {counts}")
    print("API:", " ".join(sorted(scrape.api)))
    print("worker:", " ".join(sorted(scrape.worker)))
    project = projects["default"]
    named: dict[str, set[str]] = {}
    for rule in rules(project):
        for metric in metric_names(rule["expr"]):
            named.setdefault(metric, set()).add(f"alert {rule['alert']}")
    for title, expr in panel_queries(dashboard(project)):
        for metric in metric_names(expr):
            named.setdefault(metric, set()).add(f"panel {title!r}")
    assert len(named) >= 20, sorted(named)
    missing = {metric: where for metric, where in named.items() if metric not in exposed}
    assert set(missing) <= PROMETHEUS_OWN, f"not exposed by the running product: {missing}"
    # The worker's own series come from the worker's /metrics.
    assert "task_duration_seconds_bucket" in scrape.worker


def test_worker_off_assets_name_only_metrics_its_code_defines(
    projects: dict[str, Path], scrape: Scrape
) -> None:
    project = projects["no-worker"]
    source = "\n".join(path.read_text() for path in (project / "src").rglob("*.py"))
    defined = set(re.findall(r'(?:Counter|Gauge|Histogram)\(\s*"(\w+)"', source))
    queries = [rule["expr"] for rule in rules(project)]
    queries += [expr for _, expr in panel_queries(dashboard(project))]
    named = set().union(*(metric_names(expr) for expr in queries))
    family = {re.sub(r"_(bucket|sum|count)$", "", name) for name in named}
    assert not any(name.startswith("task_") for name in named), named
    # What the code does not define comes from the client library's process collector.
    undefined = family - PROMETHEUS_OWN - defined
    assert all(name.startswith("process_") for name in undefined), undefined
    # Events are handled by whichever process claims them first: the API or the worker.
    exposed = scrape.api | scrape.worker
    assert named - PROMETHEUS_OWN <= exposed, (named - PROMETHEUS_OWN) - exposed
