"""Settings from environment variables (and `.env`), with per-environment rules.

Every variable is listed in docs/configuration.md. Outside `APP_ENV=dev` a missing required
variable stops start-up with the full list; placeholder secrets are refused.
"""

from __future__ import annotations

import math
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .project import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_USERNAME, PROJECT_NAME

# Values copied from examples and docs: accepted in dev, refused anywhere else.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "admin",
        "change-me",
        "changeme",
        "changethis",
        "password",
        "secret",
        "your_access_key",
        "your_admin_password",
        "your_jwt_secret_here",
        "your_secret_key",
    }
)
MIN_JWT_SECRET_LENGTH = 32


class AppEnv(StrEnum):
    """Deployment profile: selects which variables are required and how strictly."""

    DEV = "dev"
    TEST = "test"
    STAGING = "staging"
    PROD = "prod"


class ConfigurationError(RuntimeError):
    """The environment cannot run this service; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def available_cpus() -> int:
    """CPUs this process may use: its affinity, and a container's CPU quota (cgroup v2)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def _default_hash_threads() -> int:
    # Half the cores: a flood of sign-ins leaves the rest to requests.
    return max(1, available_cpus() // 2)


class Settings(BaseSettings):
    """All settings of the service. Read once per process through `get_settings()`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    app_env: AppEnv = AppEnv.DEV
    project_name: str = PROJECT_NAME
    log_level: str = "INFO"
    # Unset: readable lines in dev, JSON lines in every other profile (`json_logs`).
    log_json: bool | None = None

    # Database
    database_url: str | None = None
    # Per process (docs/performance.md): at least the requests one process serves at once.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_ping_after_idle_s: float = Field(default=10.0, ge=0)

    # `serve` processes (docs/performance.md): WEB_CONCURRENCY, else one per CPU in staging
    # and prod, one in dev and test.
    web_concurrency: int | None = Field(default=None, ge=1)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    db_pool_recycle_s: int = Field(default=1800, ge=-1)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)

    # Auth for our own API and dashboard (not HiAgent)
    hiagent_jwt_secret: SecretStr | None = None
    hiagent_jwt_expire_minutes: int = Field(default=480, ge=1)
    hiagent_admin_username: str = DEFAULT_ADMIN_USERNAME
    hiagent_admin_email: str = DEFAULT_ADMIN_EMAIL
    hiagent_admin_password: SecretStr | None = None
    # Sign-in throttling (docs/security.md): failures are counted per account and client
    # address, and per client address across accounts, within a window.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_client: int = Field(default=20, ge=1)
    login_window_s: int = Field(default=300, ge=1)
    login_lockout_s: int = Field(default=60, ge=1)
    # argon2 runs in its own threads: at most this many at once, this many more waiting.
    password_hash_threads: int = Field(default_factory=_default_hash_threads, ge=1)
    password_hash_queue: int = Field(default=16, ge=0)

    # HiAgent platform; the SDK itself reads VOLC_ACCESSKEY / VOLC_SECRETKEY
    volc_accesskey: SecretStr | None = None
    volc_secretkey: SecretStr | None = None
    hiagent_top_endpoint: str | None = None
    hiagent_app_base_url: str | None = None
    hiagent_region: str = "cn-north-1"

    # Observability
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str | None = None

    # Retention windows (the retention module's own settings hold the rest)
    retention_request_log_hot_days: int = Field(default=90, ge=1)
    retention_request_log_cold_days: int = Field(default=365, ge=1)
    retention_event_days: int = Field(default=30, ge=1)

    # HTTP
    cors_origins: list[str] = Field(default_factory=list)
    # Request bodies above this size get 413 before they are read (docs/security.md).
    http_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Interactive docs and the OpenAPI document; unset means on in dev and test only.
    api_docs: bool | None = None

    @field_validator("hiagent_app_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        # The SDK builds f"{base_url}/{action}": a trailing slash would give "//action".
        return value.rstrip("/") if value else value

    @field_validator("web_concurrency", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `WEB_CONCURRENCY=` (as compose writes an unset variable) means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def is_dev(self) -> bool:
        """True for the local development profile, where defaults fill the gaps."""
        return self.app_env is AppEnv.DEV

    @property
    def json_logs(self) -> bool:
        """Whether logs are JSON lines (LOG_JSON, else every profile but dev)."""
        return self.log_json if self.log_json is not None else not self.is_dev

    @property
    def api_docs_enabled(self) -> bool:
        """Whether /docs and /openapi.json are served (API_DOCS, or the profile's default)."""
        if self.api_docs is not None:
            return self.api_docs
        return self.app_env in (AppEnv.DEV, AppEnv.TEST)

    @property
    def server_processes(self) -> int:
        """How many processes `serve` runs unless told otherwise."""
        if self.web_concurrency:
            return self.web_concurrency
        return available_cpus() if self.app_env in (AppEnv.STAGING, AppEnv.PROD) else 1

    @property
    def service_name(self) -> str:
        """Name used in traces and metrics."""
        return self.otel_service_name or self.project_name

    def jwt_secret(self) -> str:
        """The JWT signing secret; in dev an ephemeral one when none is configured."""
        if self.hiagent_jwt_secret is not None:
            return self.hiagent_jwt_secret.get_secret_value()
        if not self.is_dev:
            raise ConfigurationError(["HIAGENT_JWT_SECRET is not set"])
        return _ephemeral_secret()

    def required_variables(self) -> dict[str, Any]:
        """Variables that must be set outside dev, with their current values."""
        return {
            "DATABASE_URL": self.database_url,
            "HIAGENT_JWT_SECRET": self.hiagent_jwt_secret,
            "VOLC_ACCESSKEY": self.volc_accesskey,
            "VOLC_SECRETKEY": self.volc_secretkey,
            "HIAGENT_TOP_ENDPOINT": self.hiagent_top_endpoint,
            "HIAGENT_APP_BASE_URL": self.hiagent_app_base_url,
        }

    def problems(self) -> list[str]:
        """Every reason this configuration cannot start in its `APP_ENV`."""
        problems: list[str] = []
        if not self.is_dev:
            missing = [name for name, value in self.required_variables().items() if not value]
            problems += [f"{name} is required when APP_ENV={self.app_env}" for name in missing]
            problems += self._placeholder_problems()
        problems += endpoint_problems(self.hiagent_top_endpoint, self.hiagent_app_base_url)
        if self.database_url and not self.database_url.startswith("postgresql"):
            problems.append(
                "DATABASE_URL must be a PostgreSQL URL, e.g. "
                "postgresql+asyncpg://user:pass@host:5432/db"
            )
        return problems

    def _placeholder_problems(self) -> list[str]:
        problems = []
        required = self.required_variables()
        for name in ("HIAGENT_JWT_SECRET", "VOLC_ACCESSKEY", "VOLC_SECRETKEY"):
            value = required[name]
            if value is not None and value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                problems.append(f"{name} holds a placeholder value; set a real secret")
        jwt = self.hiagent_jwt_secret
        if jwt is not None and 0 < len(jwt.get_secret_value()) < MIN_JWT_SECRET_LENGTH:
            problems.append(
                f"HIAGENT_JWT_SECRET must be at least {MIN_JWT_SECRET_LENGTH} characters "
                '(generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        password = self.hiagent_admin_password
        if password is not None and password.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            problems.append("HIAGENT_ADMIN_PASSWORD holds a placeholder value")
        return problems

    def validate_for_start(self) -> None:
        """Raise `ConfigurationError` listing every problem, or return quietly."""
        problems = self.problems()
        if problems:
            raise ConfigurationError(problems)


def endpoint_problems(top_endpoint: str | None, app_base_url: str | None) -> list[str]:
    """Check HiAgent endpoints the way the SDK needs them (docs/hiagent.md explains why)."""
    problems = []
    if top_endpoint:
        parts = urlsplit(top_endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(
                f"HIAGENT_TOP_ENDPOINT={top_endpoint!r} needs a scheme and host, "
                "e.g. https://open.volcengineapi.com:443"
            )
        elif parts.port is None:
            problems.append(
                f"HIAGENT_TOP_ENDPOINT={top_endpoint!r} needs an explicit port "
                f"(the SDK cannot call it otherwise), e.g. {parts.scheme}://{parts.hostname}:"
                f"{443 if parts.scheme == 'https' else 80}"
            )
    if app_base_url:
        parts = urlsplit(app_base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(
                f"HIAGENT_APP_BASE_URL={app_base_url!r} needs a scheme and host, "
                "e.g. https://hiagent.example.com/api/proxy/api/v1"
            )
    return problems


@lru_cache(maxsize=1)
def _ephemeral_secret() -> str:
    return secrets.token_urlsafe(48)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once from the environment."""
    return Settings()
