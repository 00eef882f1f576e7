"""Sessions for every check of the template. `nox` runs them all; `nox -s NAME` one."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"  # the template repo's own .venv (uv sync) has the tools
nox.options.sessions = [
    "lint",
    "docs",
    "render",
    "generated",
    "no_worker",
    "modules",
    "fuzz",
    "faults",
    "update",
    "deploy",
    "image",
    "dashboard",
]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the template repo's own Python (hooks, extensions, CLI, tests, template files)."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", "hiagent_template", "hooks", "extensions")


@nox.session
def docs(session: nox.Session) -> None:
    """The template's documentation site: `mkdocs build --strict` (links, anchors, nav)."""
    # No --quiet: it hides the warnings that --strict turns into a failure.
    with tempfile.TemporaryDirectory() as site:
        session.run(
            "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            site,
            env={"NO_MKDOCS_2_WARNING": "1"},
        )


@nox.session
def render(session: nox.Session) -> None:
    """Render every answer profile: no leftover Jinja, ruff and mypy clean; answers validated.

    Also the scaffolding CLI (update preview included) and the release's consistency.
    """
    session.run(
        "pytest",
        "-n",
        "2",
        "tests/test_render.py",
        "tests/test_answers.py",
        "tests/test_style_budget.py",
        "tests/test_template_cli.py",
        "tests/test_release.py",
        "tests/test_product_docs.py",
        *session.posargs,
    )


@nox.session
def generated(session: nox.Session) -> None:
    """The default profile end to end: bootstrap, dev, and its own tests on PostgreSQL."""
    session.run("pytest", "tests/test_generated_project.py", *session.posargs)


@nox.session
def modules(session: nox.Session) -> None:
    """add-module, check-modules, a broken module and an installed plugin, in a real product."""
    session.run("pytest", "tests/test_modules.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Schemathesis, every check for 5 minutes, against a running default product.

    -rP prints the counts and the failures grouped by check, operation and status code.
    """
    session.run("pytest", "-rP", "tests/test_fuzz.py", *session.posargs)


@nox.session
def faults(session: nox.Session) -> None:
    """A running default product under faults, on loopback and bounded in time.

    Database connections killed under load, pool exhaustion, a login flood, huge bodies, NUL
    bytes, out-of-range ids, OPTIONS and security headers; -rP prints the figures.
    """
    session.run("pytest", "-rP", "tests/test_faults.py", *session.posargs)


@nox.session
def update(session: nox.Session) -> None:
    """Update matrix: products of the previous release update to this tree and stay green.

    Two cells in parallel; -rP prints each cell's step timings.
    """
    session.run("pytest", "-n", "2", "-rP", "tests/test_update.py", *session.posargs)


@nox.session
def bench_analytics(session: nox.Session) -> None:
    """Analytics at 10 million request-log rows: API latency, and the same from raw rows."""
    session.run("python", "bench/analytics_scale.py", *session.posargs)


@nox.session
def deploy(session: nox.Session) -> None:
    """Dockerfile, compose, Helm chart and on-prem scripts of every profile, without Docker.

    Also the observability assets: promtool checks and unit-tests the alert rules, and every
    metric the rules and the Grafana dashboard name is read from a running product's /metrics.
    """
    session.run(
        "pytest",
        "-rP",
        "tests/test_deploy.py",
        "tests/test_observability_assets.py",
        *session.posargs,
    )


@nox.session
def image(session: nox.Session) -> None:
    """The product's real image, built with buildah and run (no Docker engine needed).

    Default and worker-off/dashboard-off profiles: the Dockerfile built (registry bases, or
    stand-ins it names), then bootstrap, serve and worker from the image, read-only, on the
    machine's PostgreSQL and Redis; deploy.sh's rollback on the built image. -rP prints the
    bases, build times, image sizes and run times.
    """
    session.run(
        "pytest", "-rP", "tests/test_image.py", "tests/test_image_deploy.py", *session.posargs
    )


@nox.session
def dashboard(session: nox.Session) -> None:
    """The dashboard: toggle and copy checks; then bootstrap, Vitest and Playwright (Chromium)."""
    session.run("pytest", "tests/test_dashboard.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Latency the gateway adds to a HiAgent call over the bare SDK (loopback, about 8 min)."""
    session.run("python", "bench/gateway_overhead.py", *session.posargs)


@nox.session(name="bench_http")
def bench_http(session: nox.Session) -> None:
    """HTTP reads of the product against a bare FastAPI + asyncpg floor (loopback, ~5 min)."""
    session.run("python", "bench/http_read.py", *session.posargs)


@nox.session(name="bench_dev_start")
def bench_dev_start(session: nox.Session) -> None:
    """Warm `dev` to ready (reload on and off); `-- --cold`: the quickstart with empty caches."""
    session.run("python", "bench/dev_start.py", *session.posargs)


@nox.session(name="no_worker")
def no_worker(session: nox.Session) -> None:
    """The worker-off profile: no Dramatiq or Redis anywhere; its own tests pass on the embedded
    PostgreSQL (DATABASE_URL removed), as `generated`'s pass on DATABASE_URL's server."""
    session.run("pytest", "tests/test_worker_profile.py", *session.posargs)


@nox.session(name="dashboard-client")
def dashboard_client(session: nox.Session) -> None:
    """Regenerate the dashboard's typed API client from the template's API; commit the result."""
    repo = Path.cwd()
    target = repo / "template" / "{% if with_dashboard %}dashboard{% endif %}"
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "client"
        session.run(
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            "--quiet",
            "--data=package_name=client_source",
            "--data=run_bootstrap=false",
            str(repo),
            str(project),
        )
        with session.chdir(project / "dashboard"):
            session.run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", external=True)
        with session.chdir(project):
            session.run("uv", "sync", "-q", external=True, env={"VIRTUAL_ENV": ""})
            session.run(
                "uv",
                "run",
                "--no-sync",
                "python",
                "-m",
                "client_source.modules.dashboard",
                "client",
                external=True,
                env={"VIRTUAL_ENV": ""},
            )
        for name in ("openapi.json", "src/api/schema.d.ts"):
            shutil.copyfile(project / "dashboard" / name, target / name)
    session.log("Updated dashboard/openapi.json and dashboard/src/api/schema.d.ts in the template")
