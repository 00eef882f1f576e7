"""Settings per environment: missing variables listed, placeholders refused, endpoints checked."""

from __future__ import annotations

import pytest

from ..settings import AppEnv, ConfigurationError, Settings

GOOD = {
    "database_url": "postgresql+asyncpg://app:pw@db:5432/app",
    "hiagent_jwt_secret": "x" * 48,
    "volc_accesskey": "AKLTrealkey",
    "volc_secretkey": "realsecretvalue",
    "hiagent_top_endpoint": "https://open.example.com:443",
    "hiagent_app_base_url": "https://hia.example.com/api/proxy/api/v1",
}


@pytest.fixture(autouse=True)
def _no_settings_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests describe the environment completely; the caller's variables must not leak in.
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("env", [AppEnv.TEST, AppEnv.STAGING, AppEnv.PROD])
def test_outside_dev_every_missing_variable_is_listed(env: AppEnv) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make(app_env=env).validate_for_start()
    text = str(caught.value)
    for name in (
        "DATABASE_URL",
        "HIAGENT_JWT_SECRET",
        "VOLC_ACCESSKEY",
        "VOLC_SECRETKEY",
        "HIAGENT_TOP_ENDPOINT",
        "HIAGENT_APP_BASE_URL",
    ):
        assert name in text
    assert len(caught.value.problems) == 6


def test_dev_starts_without_variables() -> None:
    make(app_env=AppEnv.DEV).validate_for_start()


def test_complete_prod_configuration_is_accepted() -> None:
    make(app_env=AppEnv.PROD, **GOOD).validate_for_start()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hiagent_jwt_secret", "your_jwt_secret_here", "HIAGENT_JWT_SECRET holds a placeholder"),
        ("hiagent_jwt_secret", "short-secret", "at least 32 characters"),
        ("volc_accesskey", "your_access_key", "VOLC_ACCESSKEY holds a placeholder"),
        ("volc_secretkey", "changeme", "VOLC_SECRETKEY holds a placeholder"),
        ("hiagent_admin_password", "your_admin_password", "HIAGENT_ADMIN_PASSWORD"),
    ],
)
def test_placeholder_secrets_are_refused_in_prod(field: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make(app_env=AppEnv.PROD, **{**GOOD, field: value}).validate_for_start()


def test_top_endpoint_without_port_is_explained() -> None:
    settings = make(app_env=AppEnv.PROD, **{**GOOD, "hiagent_top_endpoint": "https://open.x.com"})
    with pytest.raises(ConfigurationError, match="explicit port"):
        settings.validate_for_start()


def test_app_base_url_loses_trailing_slash() -> None:
    settings = make(hiagent_app_base_url="http://127.0.0.1:8080/api/proxy/api/v1/")
    assert settings.hiagent_app_base_url == "http://127.0.0.1:8080/api/proxy/api/v1"


def test_non_postgres_database_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="PostgreSQL URL"):
        make(app_env=AppEnv.PROD, **{**GOOD, "database_url": "sqlite:///x.db"}).validate_for_start()
