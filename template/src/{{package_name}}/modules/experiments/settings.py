"""Settings of the experiments module, declared in its manifest (read and checked at start-up)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExperimentSettings(BaseSettings):
    """`EXPERIMENTS_CHECK_S`: how often each process reloads the running experiments (other
    processes' starts and stops) and applies the automatic stop."""

    model_config = SettingsConfigDict(env_prefix="EXPERIMENTS_", env_file=".env", extra="ignore")

    check_s: float = Field(default=15.0, gt=0, le=3600)
