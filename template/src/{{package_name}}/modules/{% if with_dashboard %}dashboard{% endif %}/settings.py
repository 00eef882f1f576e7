"""Where the dashboard's sources and build output live (paths relative to the working directory)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    """`DASHBOARD_DIR`, `DASHBOARD_DIST_DIR` and `DASHBOARD_BUILD`, from the env or `.env`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # The Vite project; commands run from the project root, like `.env` and `.data/`.
    dashboard_dir: Path = Path("dashboard")
    # Built assets to serve; a container image may place them elsewhere.
    dashboard_dist_dir: Path | None = None
    # `false` lets `bootstrap` and `dev` skip the build on machines without Node.
    dashboard_build: bool = True

    @property
    def dist_dir(self) -> Path:
        """The folder served at `/`."""
        return self.dashboard_dist_dir or self.dashboard_dir / "dist"
