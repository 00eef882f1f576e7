"""Sessions for every check of the template. `nox` runs them all; `nox -s NAME` one."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "none"  # the template repo's own .venv (uv sync) has the tools
nox.options.sessions = ["lint", "render", "generated", "modules", "update"]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the template repo's own Python (hooks, extensions, CLI, tests, template files)."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", "hiagent_template", "hooks", "extensions")


@nox.session
def render(session: nox.Session) -> None:
    """Render every answer profile: no leftover Jinja, ruff and mypy clean; answers validated."""
    session.run(
        "pytest",
        "-n",
        "2",
        "tests/test_render.py",
        "tests/test_answers.py",
        "tests/test_style_budget.py",
        "tests/test_template_cli.py",
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
def update(session: nox.Session) -> None:
    """`copier update` from one template version to the next."""
    session.run("pytest", "tests/test_update.py", *session.posargs)
