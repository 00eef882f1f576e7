"""Deployment files of the generated project: Dockerfile, compose, Helm chart, on-prem scripts.

No Docker engine or helm binary is needed: hadolint, the compose spec (check-jsonschema),
Helm's own library (helm-python-sdk), kubernetes-validate and shellcheck come with the dev
group, and the deploy script runs against a stand-in `docker` that keeps containers in a file.
The compose proxy's nginx.conf is checked with Debian's nginx (`nginx -t`, and a run on loopback
ports in front of a small upstream); `.ci/run` unpacks that binary when the machine has none.
"""

from __future__ import annotations

import configparser
import fnmatch
import http.client
import http.server
import ipaddress
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from .conftest import Profile, render
from .running_product import free_port, stop, wait_for_port

PROFILES = {
    "worker-dashboard": Profile(True, "standalone", True, False),
    "sentinel": Profile(True, "sentinel", False, False),
    "no-worker": Profile(False, None, False, False),
}
BIN = Path(sys.executable).parent
RELEASE, NAMESPACE = "prod", "ai"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (what the container must bind)
WRITABLE_PATHS = {"/tmp", "/app/.data"}  # noqa: S108 (emptyDir mounts in the pod)
SECRET_NAMES = re.compile(r"PASSWORD|SECRET|ACCESSKEY|SECRETKEY|DATABASE_URL|TOKEN")


def tool(name: str) -> str:
    """A command-line tool installed by the dev group (`uv sync`), next to this Python."""
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is missing: `uv sync` installs it (dev dependency group)"
    return found


def run(*args: str, cwd: Path | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, check=False, timeout=120, **kwargs
    )


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("deploy")

    def one(name: str) -> tuple[str, Path]:
        profile = PROFILES[name]
        result = render(root / name, profile.data())
        assert result.returncode == 0, f"{name}: {result.stderr}"
        return name, root / name

    with ThreadPoolExecutor(max_workers=len(PROFILES)) as pool:
        return dict(pool.map(one, PROFILES))


def slug(name: str) -> str:
    return PROFILES[name].data()["project_slug"]


def deployment_files(project: Path) -> list[Path]:
    files = [project / "Dockerfile", project / ".dockerignore", *project.glob("compose*.yaml")]
    return files + sorted(path for path in (project / "deploy").rglob("*") if path.is_file())


# --- Dockerfile ---------------------------------------------------------------------------


def dockerfile_instructions(project: Path) -> list[tuple[str, str]]:
    text = (project / "Dockerfile").read_text()
    logical = re.sub(r"\\\n\s*", " ", text)
    lines = [line.strip() for line in logical.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("name", PROFILES)
def test_dockerfile_passes_hadolint_with_no_finding_at_all(
    projects: dict[str, Path], name: str
) -> None:
    # Threshold "style", the strictest: any finding fails, and nothing is ignored.
    result = run(
        tool("hadolint"),
        "--no-color",
        "--failure-threshold",
        "style",
        "Dockerfile",
        cwd=projects[name],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("name", PROFILES)
def test_image_runs_the_service_as_non_root_with_runbooks_and_dashboard(
    projects: dict[str, Path], name: str
) -> None:
    project, profile = projects[name], PROFILES[name]
    steps = dockerfile_instructions(project)
    froms = [args for op, args in steps if op == "FROM"]
    requires = tomllib.loads((project / "pyproject.toml").read_text())["project"]["requires-python"]
    assert ("ARG", f"PYTHON_VERSION={requires.removeprefix('>=')}") in steps
    assert any(args.startswith("ghcr.io/astral-sh/uv:") for args in froms)
    node_stages = [args for args in froms if args.startswith("node:")]
    assert bool(node_stages) == profile.with_dashboard
    text = (project / "Dockerfile").read_text()
    assert ("npm" in text) == profile.with_dashboard

    runtime = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    ops = dict(reversed(runtime))  # first occurrence of each instruction in the last stage
    assert ops["WORKDIR"] == "/app"
    assert ("COPY", "runbooks ./runbooks") in runtime
    user = [args for op, args in runtime if op == "USER"][-1]
    assert user.split(":")[0].isdigit()
    assert user.split(":")[0] != "0"
    assert "/health/live" in ops["HEALTHCHECK"]
    assert json.loads(ops["CMD"]) == [
        slug(name),
        "serve",
        "--host",
        ALL_INTERFACES,
        "--port",
        "8000",
    ]
    assert "APP_ENV=prod" in ops["ENV"]
    assert "PYTHONDONTWRITEBYTECODE=1" in ops["ENV"]
    assert "uv sync --frozen --no-dev" in text

    dashboard_copy = ("COPY", "--from=dashboard /build/dist ./dashboard/dist")
    assert (dashboard_copy in runtime) == profile.with_dashboard
    if profile.with_dashboard:
        # The served folder is the dashboard module's default, relative to the working dir.
        settings = next(project.glob("src/*/modules/dashboard/settings.py")).read_text()
        assert 'dashboard_dir: Path = Path("dashboard")' in settings
        assert 'self.dashboard_dir / "dist"' in settings


def dockerignore_excludes(project: Path, relative: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also covers what is below it."""
    excluded = False
    for raw in (project / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = relative.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        glob = pattern.replace("**/", "*")
        if any(
            fnmatch.fnmatchcase(prefix, glob) or fnmatch.fnmatchcase(prefix, pattern)
            for prefix in prefixes
        ):
            excluded = not negate
    return excluded


@pytest.mark.parametrize("name", PROFILES)
def test_build_context_keeps_sources_and_leaves_out_secrets(
    projects: dict[str, Path], name: str
) -> None:
    project = projects[name]
    package = PROFILES[name].package
    needed = [
        "pyproject.toml",
        "uv.lock",
        "README.md",
        f"src/{package}/cli.py",
        "runbooks/rotate-secrets.md",
    ]
    if PROFILES[name].with_dashboard:
        needed += ["dashboard/package.json", "dashboard/package-lock.json", "dashboard/index.html"]
    assert [path for path in needed if dockerignore_excludes(project, path)] == []
    private = [
        ".env",
        ".env.prod",
        ".git/config",
        ".venv/bin/python",
        ".data/postgres/x",
        "dashboard/node_modules/x/index.js",
        f"src/{package}/__pycache__/cli.pyc",
    ]
    assert [path for path in private if not dockerignore_excludes(project, path)] == []


# --- Compose ------------------------------------------------------------------------------


def compose_files(project: Path) -> list[Path]:
    return sorted(project.glob("compose*.yaml"))


def merged_compose(project: Path, *names: str) -> dict[str, Any]:
    """What `docker compose -f a -f b` sees: mappings merged, later files win."""

    def merge(base: Any, extra: Any) -> Any:
        if isinstance(base, dict) and isinstance(extra, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in extra.items()}}
        return extra

    result: dict[str, Any] = {}
    for file_name in names:
        result = merge(result, yaml.safe_load((project / file_name).read_text()))
    return result


def test_compose_files_follow_the_compose_spec(projects: dict[str, Path]) -> None:
    files = [str(path) for project in projects.values() for path in compose_files(project)]
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", PROFILES)
def test_compose_runs_bootstrap_before_the_app_and_keeps_secrets_in_env(
    projects: dict[str, Path], name: str
) -> None:
    project, profile = projects[name], PROFILES[name]
    compose = merged_compose(project, "compose.yaml")
    services = compose["services"]
    expected = {"proxy", "api", "migrate", "postgres"} | (
        {"worker", "redis"} if profile.with_worker else set()
    )
    assert set(services) == expected
    assert services["migrate"]["command"] == [slug(name), "bootstrap"]
    for app in {"api", "worker"} & set(services):
        assert services[app]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[app]["env_file"] == ".env"
        assert services[app]["read_only"] is True
        assert services[app]["init"] is True
    assert services["api"]["command"][:2] == [slug(name), "serve"]
    assert "/health/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    if profile.with_worker:
        assert services["worker"]["command"] == [slug(name), "worker"]
        assert "/metrics" in " ".join(services["worker"]["healthcheck"]["test"])
        assert services["redis"]["image"].startswith("redis:7")

    for file in compose_files(project):
        for service in yaml.safe_load(file.read_text())["services"].values():
            for key, value in (service.get("environment") or {}).items():
                if SECRET_NAMES.search(key):
                    assert re.fullmatch(r".*\$\{[A-Z_]+:\?[^}]+\}.*", str(value)), (file, key)
    assert "${POSTGRES_PASSWORD:?" in services["api"]["environment"]["DATABASE_URL"]


def test_sentinel_variant_has_a_master_a_replica_and_three_sentinels(
    projects: dict[str, Path],
) -> None:
    project = projects["sentinel"]
    compose = merged_compose(project, "compose.yaml", "compose.sentinel.yaml")
    services = compose["services"]
    assert {"redis", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"} <= set(services)
    assert "--replicaof redis 6379" in " ".join(services["redis-replica"]["command"])
    for app in ("api", "worker", "migrate"):
        env = services[app]["environment"]
        assert env["REDIS_MODE"] == "sentinel"
        assert env["REDIS_SENTINELS"] == "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379"
    for service in services.values():
        for dependency in service.get("depends_on", {}):
            assert dependency in services
    for number in (1, 2, 3):
        sentinel = services[f"sentinel-{number}"]
        assert "sentinel monitor" in sentinel["command"][-1]
        assert f"sentinel-{number}-data" in compose["volumes"]
    assert not (projects["no-worker"] / "compose.sentinel.yaml").exists()


# Compose's variable substitution: ${NAME}, ${NAME:-default}, ${NAME:?error} and $$.
INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """A compose value as Compose reads it with `env` (.env); a missing required one fails."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        if env.get(name):
            return env[name]
        assert op != ":?", f"compose stops: {arg}"
        return arg if op == ":-" else ""

    return INTERPOLATION.sub(one, value)


def compose_of(project: Path) -> dict[str, Any]:
    """Every compose file of the project, merged."""
    return merged_compose(project, *(path.name for path in compose_files(project)))


@pytest.mark.parametrize("name", PROFILES)
def test_compose_proxy_serves_https_from_the_files_named_in_env(
    projects: dict[str, Path], name: str
) -> None:
    project = projects[name]
    proxy = compose_of(project)["services"]["proxy"]
    env = {"TLS_CERT_FILE": "certs/site.crt", "TLS_KEY_FILE": "/etc/ssl/site.key"}
    assert [interpolate(port, env) for port in proxy["ports"]] == [
        f"{ALL_INTERFACES}:80:8080",
        f"{ALL_INTERFACES}:443:8443",
    ]
    assert interpolate(proxy["ports"][1], {"HTTPS_PORT": "8443"}).endswith(":8443:8443")
    binds = [volume for volume in proxy["volumes"] if isinstance(volume, dict)]
    assert {volume["target"]: interpolate(volume["source"], env) for volume in binds} == {
        "/etc/nginx/tls/cert.pem": "certs/site.crt",
        "/etc/nginx/tls/key.pem": "/etc/ssl/site.key",
    }
    assert all(volume["type"] == "bind" and volume["read_only"] for volume in binds)
    # Without a certificate Compose stops, naming the variable and who makes one.
    with pytest.raises(AssertionError, match=r"set TLS_CERT_FILE in \.env \(deploy\.sh makes"):
        interpolate(binds[0]["source"], {})

    # The image's start script turns the mounted template into /etc/nginx/nginx.conf, filling in
    # only the variables the filter names.
    template = "./deploy/onprem/nginx.conf:/etc/nginx/templates/nginx.conf.template:ro"
    assert template in proxy["volumes"]
    container_env = {key: interpolate(value, env) for key, value in proxy["environment"].items()}
    assert container_env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    filled = {
        key for key in container_env if re.search(container_env["NGINX_ENVSUBST_FILTER"], key)
    }
    assert filled == {"HTTPS_PORT", "TLS_HSTS"}
    assert container_env["TLS_HSTS"] == "off"
    nginx = (project / "deploy/onprem/nginx.conf").read_text()
    assert set(re.findall(r"\$\{(\w+)\}", nginx)) == filled
    for volume in binds:
        assert volume["target"] in nginx


@pytest.mark.parametrize("name", PROFILES)
def test_compose_api_trusts_forwarded_headers_from_the_proxy_address_only(
    projects: dict[str, Path], name: str
) -> None:
    compose = compose_of(projects[name])
    services = compose["services"]
    proxy = services["proxy"]
    subnet = ipaddress.ip_network(
        interpolate(compose["networks"]["edge"]["ipam"]["config"][0]["subnet"], {})
    )
    address = ipaddress.ip_address(interpolate(proxy["networks"]["edge"]["ipv4_address"], {}))
    assert address in subnet
    assert address not in (subnet.network_address, subnet.network_address + 1)  # not the gateway
    assert set(proxy["networks"]) == {"edge"}
    assert set(services["api"]["networks"]) == {"default", "edge"}
    on_edge = {key for key, service in services.items() if "edge" in service.get("networks", [])}
    assert on_edge == {"proxy", "api"}

    for app in sorted({"api", "worker", "migrate"} & set(services)):
        allowed = services[app]["environment"]["FORWARDED_ALLOW_IPS"]
        assert interpolate(allowed, {}) == str(address), app
        # One variable moves both the proxy and the address the API trusts.
        moved = {"PROXY_ADDRESS": "10.77.0.9"}
        assert interpolate(allowed, moved) == "10.77.0.9"
        assert interpolate(proxy["networks"]["edge"]["ipv4_address"], moved) == "10.77.0.9"
    for file in compose_files(projects[name]):
        assert 'FORWARDED_ALLOW_IPS: "*"' not in file.read_text()


# --- Helm chart ---------------------------------------------------------------------------

EVERYTHING_ON = {
    "existingSecret": "prod-secrets",
    "image": {"repository": "registry.example.com/team/app", "tag": "1.2.3"},
    "imagePullSecrets": [{"name": "registry"}],
    "env": {"HIAGENT_TOP_ENDPOINT": "https://open.example.com:443"},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-buffering": "off"},
        "tls": [{"secretName": "tls", "hosts": ["app.example.com"]}],
    },
    "api": {"autoscaling": {"enabled": True}, "nodeSelector": {"pool": "apps"}},
    "worker": {"autoscaling": {"enabled": True}, "podDisruptionBudget": {"enabled": True}},
    "spill": {"existingClaim": "spill"},
}


def chart_dir(project: Path) -> Path:
    return next((project / "deploy" / "helm").iterdir())


def render_chart(project: Path, values: dict[str, Any]) -> dict[str, str]:
    with helm_python.Chart.load(str(chart_dir(project))) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            docs += [doc for doc in yaml.safe_load_all(text) if doc]
    return docs


def chart_values(name: str) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = [{}, EVERYTHING_ON]
    if not PROFILES[name].with_worker:
        values[1] = {key: value for key, value in EVERYTHING_ON.items() if key != "worker"}
    return values


@pytest.mark.parametrize("name", PROFILES)
def test_chart_lints_clean(projects: dict[str, Path], name: str) -> None:
    for values in chart_values(name):
        report = helm_python.lint(str(chart_dir(projects[name])), values, strict=True)
        assert report["errors"] == [], report
        # Severity 1 is "info" (only "icon is recommended"); 2 and 3 are warnings and errors.
        assert [m for m in report["messages"] if m["severity"] >= 2] == [], report


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("kube_version", ["1.25.0", kubernetes_validate.latest_version()])
def test_chart_renders_valid_kubernetes_objects(
    projects: dict[str, Path], name: str, kube_version: str
) -> None:
    # The chart's kubeVersion floor (1.25) and the newest schema; strict: no unknown field.
    for values in chart_values(name):
        for doc in manifests(render_chart(projects[name], values)):
            try:
                kubernetes_validate.validate(doc, kube_version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")


def containers_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return containers


@pytest.mark.parametrize("name", PROFILES)
def test_chart_workloads_are_hardened_and_read_settings_from_configmap_and_secret(
    projects: dict[str, Path], name: str
) -> None:
    profile = PROFILES[name]
    docs = manifests(render_chart(projects[name], EVERYTHING_ON if profile.with_worker else {}))
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    full = f"{RELEASE}-{slug(name)}"
    assert ("Deployment", f"{full}-api") in kinds
    assert ("Job", f"{full}-bootstrap") in kinds
    assert (("Deployment", f"{full}-worker") in kinds) == profile.with_worker
    assert not [doc for doc in docs if doc["kind"] == "Secret"]

    workloads = [doc for doc in docs if doc["kind"] in {"Deployment", "Job"}]
    for doc in workloads:
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in containers_of(doc):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]
            assert container["resources"]["limits"]
            assert {m["mountPath"] for m in container["volumeMounts"]} == WRITABLE_PATHS
            secret_refs = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
            assert secret_refs == [EVERYTHING_ON["existingSecret"] if profile.with_worker else full]

    api = next(
        doc
        for doc in docs
        if doc["metadata"]["name"] == f"{full}-api" and doc["kind"] == "Deployment"
    )
    container = containers_of(api)[0]
    assert container["args"][:2] == [slug(name), "serve"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0

    job = next(doc for doc in docs if doc["kind"] == "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert containers_of(job)[0]["args"] == [slug(name), "bootstrap"]

    configmap = next(doc for doc in docs if doc["kind"] == "ConfigMap")
    assert [key for key in configmap["data"] if SECRET_NAMES.search(key)] == []
    assert configmap["data"]["APP_ENV"] == "prod"
    if profile.with_worker:
        worker = next(doc for doc in docs if doc["metadata"]["name"] == f"{full}-worker")
        assert containers_of(worker)[0]["args"][:2] == [slug(name), "worker"]
        assert containers_of(worker)[0]["livenessProbe"]["httpGet"]["path"] == "/metrics"


def test_chart_values_hold_no_secret(projects: dict[str, Path]) -> None:
    for name, project in projects.items():
        values = yaml.safe_load((chart_dir(project) / "values.yaml").read_text())
        assert [key for key in values["env"] if SECRET_NAMES.search(key)] == [], name


# --- On-prem scripts and systemd ------------------------------------------------------------


def test_scripts_parse_and_pass_shellcheck(projects: dict[str, Path]) -> None:
    scripts = sorted(
        path for project in projects.values() for path in project.rglob("deploy/**/*.sh")
    )
    for project in projects.values():
        names = {path.name for path in (project / "deploy").rglob("*.sh")}
        assert names == {"deploy.sh", "backup.sh", "restore.sh", "install.sh"}
    for script in scripts:
        assert os.access(script, os.X_OK), f"{script} is not executable"
        syntax = run("bash", "-n", str(script))
        assert syntax.returncode == 0, syntax.stderr
    # Severity "style", the strictest: any finding fails, and nothing is ignored.
    lint = run(tool("shellcheck"), "--severity=style", *map(str, scripts))
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("name", PROFILES)
def test_systemd_units_run_the_cli_from_the_release_venv(
    projects: dict[str, Path], name: str
) -> None:
    units = {path.name: path for path in (projects[name] / "deploy" / "systemd").glob("*.service")}
    expected = {f"{slug(name)}.service"} | (
        {f"{slug(name)}-worker.service"} if PROFILES[name].with_worker else set()
    )
    assert set(units) == expected
    for unit_name, path in units.items():
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str  # type: ignore[assignment,method-assign]
        unit.read_string(path.read_text())
        service = unit["Service"]
        command = shlex.split(service["ExecStart"])
        assert command[0] == f"/opt/{slug(name)}/current/.venv/bin/{slug(name)}"
        assert command[1] == ("worker" if unit_name.endswith("-worker.service") else "serve")
        assert service["User"] == slug(name)
        assert service["EnvironmentFile"] == f"/etc/{slug(name)}/{slug(name)}.env"
        assert service["NoNewPrivileges"] == "yes"
        assert service["ProtectSystem"] == "strict"
        assert unit["Install"]["WantedBy"] == "multi-user.target"


# --- Toggles --------------------------------------------------------------------------------


def test_without_the_worker_no_deployment_file_mentions_worker_or_redis(
    projects: dict[str, Path],
) -> None:
    name = "no-worker"
    # "workers" (uvicorn processes) and nginx's worker_* settings are not the worker; the
    # test profiles' own names ("p-no-worker-...") are left out.
    project = projects[name]
    answers = PROFILES[name].data()
    names = re.compile(
        "|".join(
            re.escape(answers[key]) for key in ("project_name", "project_slug", "package_name")
        )
    )
    hits = [
        f"{path.relative_to(project)}: {match.group(0)}"
        for path in deployment_files(project)
        for match in re.finditer(
            r"redis|dramatiq|sentinel|\bworker\b", names.sub("", path.read_text()), re.I
        )
    ]
    assert hits == []


# --- deploy.sh against a stand-in docker ---------------------------------------------------

FAKE_DOCKER = '''\
#!{python}
"""Stand-in for the docker CLI: containers live in a JSON file; every call is logged."""
import json, os, sys
from pathlib import Path

state_path = Path(os.environ["FAKE_DOCKER_STATE"])
state = json.loads(state_path.read_text())
args = sys.argv[1:]
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")

def save():
    state_path.write_text(json.dumps(state))

def running(service):
    return [c for c in state["containers"] if c["service"] == service and c["running"]]

def by_id(cid):
    return next((c for c in state["containers"] if c["id"] == cid), None)

if args[0] == "compose":
    sub = args[1:]
    if sub[0] == "version":
        print("Docker Compose version v2.29.0")
    elif sub[:2] == ["config", "--services"]:
        print("\\n".join(os.environ["FAKE_SERVICES"].split()))
    elif sub[0] == "ps":
        service = sub[-1]
        print("\\n".join(c["id"] for c in running(service)))
    elif sub[0] == "run":
        sys.exit(int(os.environ.get("FAKE_MIGRATE_RC", "0")))
    elif sub[0] == "up" and "--scale" in sub:
        service, count = sub[sub.index("--scale") + 1].split("=")
        for _ in range(int(count) - len(running(service))):
            state["next"] += 1
            state["containers"].append({{
                "id": format(state["next"], "064x"), "service": service,
                "tag": os.environ.get("APP_TAG", "latest"), "running": True,
            }})
        save()
elif args[0] == "ps":
    filters = [args[i + 1] for i, a in enumerate(args) if a == "--filter"]
    cid = next(f[3:] for f in filters if f.startswith("id="))
    c = by_id(cid)
    ok = c is not None and c["running"]
    if "health=healthy" in filters and c is not None:
        bad = c["tag"] == os.environ.get("FAKE_BAD_TAG")
        ok = ok and not (bad and os.environ.get("FAKE_BAD_SERVICE", c["service"]) == c["service"])
    if ok:
        print(cid)
elif args[0] in ("rm", "stop"):
    for cid in [a for a in args[1:] if len(a) == 64]:
        c = by_id(cid)
        if args[0] == "stop":
            c["running"] = False
        else:
            state["containers"].remove(c)
    save()
elif args[0] == "logs":
    print("the app said something")
'''


class Host:
    """A rendered project with a stand-in docker on PATH and a running release."""

    def __init__(self, project: Path, tmp: Path, services: list[str]) -> None:
        self.project = tmp / "project"
        shutil.copytree(project, self.project, symlinks=True)
        (self.project / "uv.lock").write_text("# stand-in lock\n")
        example = (
            "HIAGENT_JWT_SECRET=your_jwt_secret_here\nHIAGENT_ADMIN_PASSWORD=your_admin_password"
        )
        (self.project / ".env").write_text(f"APP_ENV=prod\nAPP_TAG=v1\n{example}")
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        docker = bin_dir / "docker"
        docker.write_text(FAKE_DOCKER.format(python=sys.executable))
        docker.chmod(0o755)
        self.state = tmp / "docker-state.json"
        self.log = tmp / "docker.log"
        self.log.write_text("")
        containers = [
            {"id": format(n, "064x"), "service": service, "tag": "v1", "running": True}
            for n, service in enumerate(services, start=1)
        ]
        self.state.write_text(json.dumps({"containers": containers, "next": len(services)}))
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_DOCKER_STATE": str(self.state),
            "FAKE_DOCKER_LOG": str(self.log),
            "FAKE_SERVICES": " ".join(merged_compose(self.project, "compose.yaml")["services"]),
        }

    def deploy(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run("deploy/onprem/deploy.sh", *args, cwd=self.project, env={**self.env, **env})

    def containers(self) -> list[tuple[str, str]]:
        state = json.loads(self.state.read_text())
        return sorted((c["service"], c["tag"]) for c in state["containers"] if c["running"])

    def env_file(self) -> str:
        return (self.project / ".env").read_text()


@pytest.fixture
def host(projects: dict[str, Path], tmp_path: Path) -> Host:
    return Host(projects["worker-dashboard"], tmp_path, ["api", "api", "worker"])


def test_release_replaces_containers_only_once_the_new_ones_are_healthy(host: Host) -> None:
    result = host.deploy("--tag", "v2", "--no-backup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert host.containers() == [("api", "v2"), ("api", "v2"), ("worker", "v2")]
    assert "APP_TAG=v2" in host.env_file()
    assert (host.project / ".data/deploy/previous-tag").read_text().strip() == "v1"
    calls = host.log.read_text().splitlines()
    order = [
        next(i for i, call in enumerate(calls) if call.startswith(prefix))
        for prefix in (
            "compose build api",
            "compose up -d --wait postgres redis",
            "compose run --rm --no-deps migrate",
            "compose up -d --no-deps --no-recreate --scale api=4 api",
            "stop --time",
        )
    ]
    assert order == sorted(order)
    # Secrets the stack owns were generated once, and never printed.
    for secret in (
        "POSTGRES_PASSWORD",
        "HIAGENT_JWT_SECRET",
        "HIAGENT_ADMIN_PASSWORD",
        "REDIS_PASSWORD",
    ):
        value = re.search(rf"^{secret}=(\w+)$", host.env_file(), re.M)
        assert value
        assert len(value.group(1)) == 64
        assert value.group(1) not in result.stdout
    assert oct((host.project / ".env").stat().st_mode & 0o777) == "0o600"

    back = host.deploy("rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert host.containers() == [("api", "v1"), ("api", "v1"), ("worker", "v1")]
    assert "APP_TAG=v1" in host.env_file()


def test_unhealthy_release_is_removed_and_the_running_one_keeps_serving(host: Host) -> None:
    result = host.deploy("--tag", "v2", "--no-backup", "--timeout", "1", FAKE_BAD_TAG="v2")
    assert result.returncode != 0
    assert "the running release is untouched" in result.stdout
    assert "the app said something" in result.stderr
    assert host.containers() == [("api", "v1"), ("api", "v1"), ("worker", "v1")]
    assert "APP_TAG=v1" in host.env_file()


def test_a_failing_worker_takes_the_new_api_back_to_the_running_release(host: Host) -> None:
    result = host.deploy(
        "--tag", "v2", "--no-backup", "--timeout", "1", FAKE_BAD_TAG="v2", FAKE_BAD_SERVICE="worker"
    )
    assert result.returncode != 0
    assert "failed on 'worker'; v1 is serving" in result.stderr
    assert host.containers() == [("api", "v1"), ("api", "v1"), ("worker", "v1")]
    assert "APP_TAG=v1" in host.env_file()


def test_first_release_starts_the_configured_replicas(
    projects: dict[str, Path], tmp_path: Path
) -> None:
    host = Host(projects["no-worker"], tmp_path, [])
    result = host.deploy("--tag", "v1", "--no-backup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert host.containers() == [("api", "v1"), ("api", "v1")]
    assert "APP_TAG=v1" in host.env_file()
    assert not (host.project / ".data/deploy/previous-tag").exists()
    assert "REDIS_PASSWORD" not in host.env_file()
    assert host.deploy("rollback").returncode != 0


def test_failed_bootstrap_stops_before_any_container_changes(host: Host) -> None:
    result = host.deploy("--tag", "v2", "--no-backup", FAKE_MIGRATE_RC="1")
    assert result.returncode != 0
    assert "Bootstrap failed" in result.stderr
    assert "--scale" not in host.log.read_text()
    assert host.containers() == [("api", "v1"), ("api", "v1"), ("worker", "v1")]


def test_deploy_refuses_a_development_env_file(host: Host) -> None:
    (host.project / ".env").write_text("APP_ENV=dev\n")
    result = host.deploy("--tag", "v2")
    assert result.returncode != 0
    assert "APP_ENV=prod" in result.stderr


# --- The proxy: HTTPS with Debian's nginx ---------------------------------------------------

ONE_YEAR_HSTS = "max-age=31536000"


def nginx_binary() -> str:
    """Debian's nginx: NGINX_BIN (what .ci/run unpacks), else the one installed."""
    found = os.environ.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.access(found, os.X_OK), (
        "nginx is missing: .ci/run unpacks Debian's package (apt-get download nginx; dpkg -x) and "
        "sets NGINX_BIN, or install it with apt"
    )
    return found


def openssl(*args: str | Path) -> None:
    result = run("openssl", *map(str, args))
    assert result.returncode == 0, result.stderr


def make_certificate(
    folder: Path, name: str, ca: tuple[Path, Path] | None = None
) -> tuple[Path, Path]:
    """A P-256 key and a certificate for localhost and 127.0.0.1: self-signed, or signed by `ca`."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    signer = ["-CA", str(ca[0]), "-CAkey", str(ca[1])] if ca else []
    extension = "subjectAltName=DNS:localhost,IP:127.0.0.1"
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-days", "30", "-subj", f"/CN={name}", "-addext", extension, *signer,
        "-keyout", key, "-out", cert,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """A self-signed pair, a test CA, and a pair that CA signed (what a real one looks like)."""
    folder = tmp_path_factory.mktemp("certificates")
    ca = make_certificate(folder, "test-ca")
    return {
        "self-signed": make_certificate(folder, "self-signed"),
        "ca": ca,
        "ca-signed": make_certificate(folder, "localhost", ca=ca),
    }


def proxy_config(
    project: Path,
    workdir: Path,
    pair: tuple[Path, Path],
    dotenv: dict[str, str],
    live: tuple[int, int, int] | None = None,
) -> Path:
    """The project's nginx.conf as the proxy container starts it, with the test-only changes below.

    Like the nginx image's start script, `envsubst` fills in exactly the variables whose names
    match the compose file's NGINX_ENVSUBST_FILTER, with the values Compose gives them from
    `dotenv`. Then, because this is not the container:
    - the certificate and key mounted at /etc/nginx/tls/ are `pair`;
    - the pid file and temporary folders go to `workdir` (the container has its own /tmp, and
      Debian's compiled-in /var/lib/nginx is not installed here);
    - `live=(http, https, upstream)`: listen on those loopback ports, and reach the upstream at
      127.0.0.1 instead of the service name `api` through Docker's DNS (127.0.0.11), which only
      exists inside Compose. (`nginx -t` resolves nothing: the upstream is a variable.)
    Each change must match exactly once, so a changed nginx.conf fails here, loudly.
    """
    proxy = merged_compose(project, "compose.yaml")["services"]["proxy"]
    container_env = {key: interpolate(value, dotenv) for key, value in proxy["environment"].items()}
    names = [key for key in container_env if re.search(container_env["NGINX_ENVSUBST_FILTER"], key)]
    filled = subprocess.run(
        ["envsubst", " ".join(f"${{{name}}}" for name in names)],
        input=(project / "deploy/onprem/nginx.conf").read_text(),
        env={**os.environ, **{name: container_env[name] for name in names}},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "${" not in filled
    temp = " ".join(
        f"{kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    changes = [
        ("/etc/nginx/tls/cert.pem", str(pair[0])),
        ("/etc/nginx/tls/key.pem", str(pair[1])),
        ("pid /tmp/nginx.pid;", f"pid {workdir / 'nginx.pid'};"),
        ("\nhttp {\n", f"\nhttp {{\n    {temp}\n"),
    ]
    if live:
        http_port, https_port, upstream = live
        changes += [
            ("listen 8080 default_server;", f"listen 127.0.0.1:{http_port} default_server;"),
            (
                "listen 8443 ssl default_server;",
                f"listen 127.0.0.1:{https_port} ssl default_server;",
            ),
            ("resolver 127.0.0.11 valid=5s ipv6=off;", ""),
            ("http://api:8000", f"http://127.0.0.1:{upstream}"),
        ]
    for old, new in changes:
        assert filled.count(old) == 1, old
        filled = filled.replace(old, new)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "nginx.conf"
    config.write_text(filled)
    return config


def nginx_check(config: Path) -> subprocess.CompletedProcess[str]:
    return run(nginx_binary(), "-t", "-p", str(config.parent), "-c", str(config), "-e", "stderr")


@pytest.mark.parametrize(
    ("certificate", "dotenv"),
    [
        ("self-signed", {}),
        ("ca-signed", {"TLS_HSTS": "on"}),
        ("ca-signed", {"TLS_HSTS": "on", "HTTPS_PORT": "8443"}),
    ],
)
def test_proxy_config_passes_nginx_t(
    projects: dict[str, Path],
    certificates: dict[str, tuple[Path, Path]],
    tmp_path: Path,
    certificate: str,
    dotenv: dict[str, str],
) -> None:
    # nginx.conf is one file for every profile.
    project = projects["worker-dashboard"]
    config = proxy_config(project, tmp_path / "ok", certificates[certificate], dotenv)
    result = nginx_check(config)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    # The check can fail: a key that is not the certificate's.
    wrong = (certificates[certificate][0], certificates["ca"][1])
    bad = nginx_check(proxy_config(project, tmp_path / "bad", wrong, dotenv))
    assert bad.returncode != 0
    assert "key values mismatch" in bad.stderr


def test_proxy_config_allows_tls_1_2_and_1_3_only_and_keeps_metrics_inside(
    projects: dict[str, Path],
) -> None:
    text = (projects["worker-dashboard"] / "deploy/onprem/nginx.conf").read_text()
    directives = [line.split("#")[0].strip() for line in text.splitlines()]
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in directives
    assert "ssl_prefer_server_ciphers off;" in directives
    ciphers = next(line for line in directives if line.startswith("ssl_ciphers "))
    suites = ciphers.removeprefix("ssl_ciphers ").rstrip(";").split(":")
    assert all(
        suite.startswith("ECDHE-") and ("GCM" in suite or "CHACHA" in suite) for suite in suites
    )
    # One proxy_pass, in the HTTPS server; plain HTTP only redirects.
    servers = text.split("    server {")[1:]
    assert len(servers) == 2
    assert "return 308 https://" in servers[0]
    assert "proxy_pass" not in servers[0]
    assert "listen 8443 ssl" in servers[1]
    assert servers[1].count("proxy_pass") == 1


# An upstream that says what it was asked, and streams like server-sent events.
class Upstream(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.first_event_read = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    server: Upstream

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        if self.path == "/stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"data: 1\n\n")
            self.wfile.flush()
            # The second event only once the client has the first: a buffering proxy stalls here.
            self.server.first_event_read.wait(timeout=5)
            self.wfile.write(b"data: 2\n\n")
            return
        body = json.dumps({"path": self.path, "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads `seen`."""


@contextmanager
def serving_proxy(config: Path, https_port: int) -> Iterator[Path]:
    """Debian's nginx in the foreground with `config`, stopped by its pid when the block ends."""
    log = config.parent / "nginx.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [nginx_binary(), "-p", str(config.parent), "-c", str(config), "-e", "stderr",
             "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_port(https_port, process, seconds=15)
            yield log
        finally:
            stop(process)


def https_get(
    port: int, path: str, trust: Path, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=str(trust))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    connection.request("GET", path, headers=headers or {})
    return connection.getresponse()


def tls_handshake(port: int, version: ssl.TLSVersion) -> str:
    """The version agreed when the client offers only `version` (old ones allowed client-side)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = version
        context.maximum_version = version
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw) as tls,
        ):
            return str(tls.version())
    except ssl.SSLError as exc:
        return str(exc.reason)


def deployed_env(project: Path) -> dict[str, str]:
    """The project's .env as Compose reads it (NAME=value lines, the last one wins)."""
    values = {}
    for line in (project / ".env").read_text().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            values[name] = value
    return values


@pytest.mark.parametrize("certificate", ["self-signed", "ca-signed"])
def test_proxy_redirects_to_https_sends_hsts_only_for_a_trusted_certificate_and_hides_metrics(
    projects: dict[str, Path],
    certificates: dict[str, tuple[Path, Path]],
    tmp_path: Path,
    certificate: str,
) -> None:
    # deploy.sh decides (a self-signed pair made by it, or the CA-signed pair named in .env),
    # Compose passes its .env on, and nginx serves it: the whole chain, on loopback ports.
    host = Host(projects["no-worker"], tmp_path / "host", [])
    if certificate == "ca-signed":
        cert, key = certificates["ca-signed"]
        with (host.project / ".env").open("a") as env:
            env.write(f"\nTLS_CERT_FILE={cert}\nTLS_KEY_FILE={key}\n")
    deployed = host.deploy("--tag", "v1", "--no-backup")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    dotenv = deployed_env(host.project)
    pair = (host.project / dotenv["TLS_CERT_FILE"], host.project / dotenv["TLS_KEY_FILE"])
    trust = certificates["ca"][0] if certificate == "ca-signed" else pair[0]

    http_port, https_port = free_port(), free_port()
    upstream = Upstream()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    dotenv["HTTPS_PORT"] = str(https_port)
    config = proxy_config(
        host.project, tmp_path / "nginx", pair, dotenv, live=(http_port, https_port, upstream.port)
    )
    try:
        with serving_proxy(config, https_port) as log:
            # Plain HTTP: a redirect that keeps the method, path and query, and nothing else.
            plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
            plain.request("POST", "/api/v1/auth/login?next=%2Fx", body=b"a=b")
            moved = plain.getresponse()
            assert moved.status == 308
            location = f"https://127.0.0.1:{https_port}/api/v1/auth/login?next=%2Fx"
            assert moved.getheader("Location") == location
            assert upstream.seen == []

            # HTTPS reaches the API with the client's scheme and address.
            answer = https_get(
                https_port, "/api/v1/agents?q=1", trust, {"X-Forwarded-For": "6.6.6.6"}
            )
            assert answer.status == 200, log.read_text()
            seen = json.loads(answer.read())
            assert seen["path"] == "/api/v1/agents?q=1"
            assert seen["headers"]["X-Forwarded-Proto"] == "https"
            # nginx appends the peer it saw: the API, trusting the proxy alone, takes that one.
            assert seen["headers"]["X-Forwarded-For"] == "6.6.6.6, 127.0.0.1"
            hsts = answer.getheader("Strict-Transport-Security")
            assert hsts == (ONE_YEAR_HSTS if certificate == "ca-signed" else None)
            assert (
                https_get(https_port, "/missing", trust).getheader("Strict-Transport-Security")
                == hsts
            )

            # /metrics, however it is spelled, never leaves the host through the proxy.
            for path in ("/metrics", "/metrics/", "//metrics", "/%6Detrics", "/api/../metrics?x"):
                assert https_get(https_port, path, trust).status == 404, path
            assert [path for path, _ in upstream.seen if "etrics" in path] == []

            # Server-sent events pass through unbuffered: the first event arrives on its own.
            started = time.monotonic()
            stream = https_get(https_port, "/stream", trust, {"Accept": "text/event-stream"})
            assert stream.readline() == b"data: 1\n"
            assert time.monotonic() - started < 3
            upstream.first_event_read.set()
            assert b"data: 2" in stream.read()

            # TLS 1.2 and 1.3 only.
            assert tls_handshake(https_port, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
            assert tls_handshake(https_port, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
            assert (
                tls_handshake(https_port, ssl.TLSVersion.TLSv1_1) == "TLSV1_ALERT_PROTOCOL_VERSION"
            )
    finally:
        upstream.shutdown()
        upstream.server_close()


# --- deploy.sh: the certificate -------------------------------------------------------------


def certificate_subject_and_issuer(cert: Path) -> tuple[str, str]:
    result = run(
        "openssl", "x509", "-noout", "-subject", "-issuer", "-nameopt", "RFC2253", "-in", str(cert)
    )
    subject, issuer = result.stdout.splitlines()
    return subject.removeprefix("subject="), issuer.removeprefix("issuer=")


def test_first_deploy_makes_a_self_signed_pair_says_so_and_keeps_it(host: Host) -> None:
    first = host.deploy("--tag", "v2", "--no-backup")
    assert first.returncode == 0, first.stdout + first.stderr
    env = deployed_env(host.project)
    assert env["TLS_CERT_FILE"] == ".data/tls/self-signed.crt"
    assert env["TLS_KEY_FILE"] == ".data/tls/self-signed.key"
    assert "TLS_HSTS" not in env  # Compose's default: off
    cert, key = host.project / env["TLS_CERT_FILE"], host.project / env["TLS_KEY_FILE"]
    subject, issuer = certificate_subject_and_issuer(cert)
    assert subject == issuer
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert "SELF-SIGNED" in first.stdout
    assert "set TLS_CERT_FILE" in first.stdout
    assert "docs/deployment.md#https" in first.stdout
    # The proxy was started afresh with the new pair.
    assert "compose up -d --no-deps --force-recreate proxy" in host.log.read_text()

    made = cert.read_bytes()
    host.log.write_text("")
    again = host.deploy("--tag", "v3", "--no-backup")
    assert again.returncode == 0, again.stdout + again.stderr
    assert cert.read_bytes() == made
    assert "SELF-SIGNED" not in again.stdout
    assert "HTTPS with the self-signed certificate" in again.stdout
    calls = host.log.read_text().splitlines()
    assert "compose up -d --no-deps proxy" in calls
    assert not [call for call in calls if "--force-recreate" in call]


def test_a_ca_signed_certificate_turns_hsts_on_and_a_new_one_restarts_the_proxy(
    host: Host, certificates: dict[str, tuple[Path, Path]]
) -> None:
    cert, key = certificates["ca-signed"]
    with (host.project / ".env").open("a") as env:
        env.write(f"\nTLS_CERT_FILE={cert}\nTLS_KEY_FILE={key}\n")
    result = host.deploy("--tag", "v2", "--no-backup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert deployed_env(host.project)["TLS_HSTS"] == "on"
    assert "issued by CN=test-ca; HSTS on" in result.stdout
    assert not (host.project / ".data/tls").exists()

    # A renewed certificate in the same file: the proxy restarts to read it.
    host.log.write_text("")
    renewed = make_certificate(host.project.parent / "renewed", "localhost", ca=certificates["ca"])
    env_text = (host.project / ".env").read_text()
    (host.project / ".env").write_text(
        env_text.replace(str(cert), str(renewed[0])).replace(str(key), str(renewed[1]))
    )
    again = host.deploy("--tag", "v3", "--no-backup")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "compose up -d --no-deps --force-recreate proxy" in host.log.read_text()

    # HSTS stays off when .env says so.
    (host.project / ".env").write_text(
        re.sub(r"^TLS_HSTS=on$", "TLS_HSTS=off", (host.project / ".env").read_text(), flags=re.M)
    )
    off = host.deploy("--tag", "v4", "--no-backup")
    assert off.returncode == 0, off.stdout + off.stderr
    assert deployed_env(host.project)["TLS_HSTS"] == "off"
    assert "HSTS off" in off.stdout


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("hsts-on-self-signed", "TLS_HSTS=on with the self-signed"),
        ("key-of-another", "is not the private key of TLS_CERT_FILE"),
        ("missing-file", "no such readable file"),
        ("only-the-certificate", "Set both TLS_CERT_FILE and TLS_KEY_FILE"),
        ("bad-hsts", "TLS_HSTS=yes: use on or off"),
    ],
)
def test_deploy_refuses_a_tls_setting_that_cannot_work(
    host: Host, certificates: dict[str, tuple[Path, Path]], given: str, message: str
) -> None:
    self_cert, self_key = certificates["self-signed"]
    lines = {
        "hsts-on-self-signed": [
            f"TLS_CERT_FILE={self_cert}",
            f"TLS_KEY_FILE={self_key}",
            "TLS_HSTS=on",
        ],
        "key-of-another": [f"TLS_CERT_FILE={self_cert}", f"TLS_KEY_FILE={certificates['ca'][1]}"],
        "missing-file": ["TLS_CERT_FILE=certs/none.crt", f"TLS_KEY_FILE={self_key}"],
        "only-the-certificate": [f"TLS_CERT_FILE={self_cert}"],
        "bad-hsts": [f"TLS_CERT_FILE={self_cert}", f"TLS_KEY_FILE={self_key}", "TLS_HSTS=yes"],
    }[given]
    with (host.project / ".env").open("a") as env:
        env.write("\n" + "\n".join(lines) + "\n")
    result = host.deploy("--tag", "v2", "--no-backup")
    assert result.returncode != 0
    assert message in result.stderr
    assert "compose build" not in host.log.read_text()
    assert host.containers() == [("api", "v1"), ("api", "v1"), ("worker", "v1")]


def test_backup_dumps_checks_and_prunes(projects: dict[str, Path], tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(projects["no-worker"], project, symlinks=True)
    (project / "compose.yaml").touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        textwrap.dedent("""\
        #!/usr/bin/env bash
        case "$*" in
          "compose ps -q --status running postgres") echo pg ;;
          "compose exec -T postgres sh -c "*) echo PGDMP-archive ;;
          "compose exec -T postgres pg_restore --list") grep -q PGDMP ;;
          *) exit 1 ;;
        esac
        """)
    )
    (bin_dir / "docker").chmod(0o755)
    backups = project / ".data" / "backups"
    backups.mkdir(parents=True)
    old = backups / "postgres-20000101T000000Z.dump"
    old.write_text("old")
    os.utime(old, (0, 0))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = run("deploy/onprem/backup.sh", "--keep-days", "7", cwd=project, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    dumps = list(backups.glob("postgres-*.dump"))
    assert len(dumps) == 1
    assert dumps[0].read_text() == "PGDMP-archive\n"
    assert oct(dumps[0].stat().st_mode & 0o777) == "0o600"
    assert "Deleted old backup" in result.stdout
