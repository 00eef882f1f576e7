"""`python -m <package>.modules.dashboard build|client`: build the dashboard, refresh its client."""

from __future__ import annotations

import shutil
import subprocess
import sys

from ...app import create_app
from ...core.settings import Settings
from .build import DashboardBuildError, ensure_built
from .client import client_schema, render, snapshot_path
from .settings import DashboardSettings

USAGE = "usage: python -m <package>.modules.dashboard build | client"


def refresh_client(settings: DashboardSettings) -> None:
    """Rewrite `openapi.json` from the app and regenerate the TypeScript types from it."""
    app = create_app(Settings(_env_file=None))
    target = snapshot_path(settings.dashboard_dir)
    target.write_text(render(client_schema(app.openapi())), encoding="utf-8")
    print(f"• Wrote {target}", flush=True)
    npm = shutil.which("npm")
    if npm is None:
        raise DashboardBuildError("npm is not installed: run `npm run api` in the dashboard later.")
    # npm from PATH with fixed arguments, no shell.
    subprocess.run(  # noqa: S603
        [npm, "run", "--silent", "api"], cwd=settings.dashboard_dir, check=True
    )
    print(f"• Regenerated {settings.dashboard_dir}/src/api/schema.d.ts", flush=True)


def main(argv: list[str]) -> int:
    """Run one command; exit status 0 on success."""
    settings = DashboardSettings()
    try:
        if argv == ["build"]:
            result = ensure_built(settings)
            print("• Built" if result.built else "• Already up to date", flush=True)
        elif argv == ["client"]:
            refresh_client(settings)
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except DashboardBuildError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
