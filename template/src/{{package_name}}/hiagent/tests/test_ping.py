"""`<slug> hiagent ping`: reachability and sign-in of both HiAgent addresses, in plain words."""

from __future__ import annotations

from typer.testing import CliRunner

from ...testing.plugin import TEST_ACCESS_KEY, TEST_SECRET_KEY
from ..cli import hiagent_cli
from ..emulator import EmulatorServer


def ping(
    *args: str,
    top: str,
    app: str,
    secret_key: str = TEST_SECRET_KEY,
) -> tuple[int, str]:
    env = {
        "HIAGENT_TOP_ENDPOINT": top,
        "HIAGENT_APP_BASE_URL": app,
        "VOLC_ACCESSKEY": TEST_ACCESS_KEY,
        "VOLC_SECRETKEY": secret_key,
    }
    result = CliRunner().invoke(hiagent_cli, ["ping", "--timeout", "2", *args], env=env)
    return result.exit_code, result.output


def test_both_addresses_answer_and_accept_us(hiagent_emulator: EmulatorServer) -> None:
    code, output = ping(
        "--app-key", "app-x", top=hiagent_emulator.top_endpoint, app=hiagent_emulator.app_base_url
    )

    assert code == 0, output
    assert "reachable; the app key is accepted" in output
    assert "reachable; the access key is accepted" in output
    assert "FAIL" not in output


def test_a_wrong_secret_key_is_a_failed_sign_in(hiagent_emulator: EmulatorServer) -> None:
    code, output = ping(
        top=hiagent_emulator.top_endpoint, app=hiagent_emulator.app_base_url, secret_key="wrong"
    )

    assert code == 1
    assert "sign-in failed (401)" in output
    assert "VOLC_SECRETKEY" in output


def test_a_wrong_app_address_is_named(hiagent_emulator: EmulatorServer) -> None:
    code, output = ping(
        top=hiagent_emulator.top_endpoint, app=hiagent_emulator.top_endpoint + "/wrong/prefix"
    )

    assert code == 1
    assert "wrong address" in output
    assert "/api/proxy/api/v1" in output


def test_a_refused_connection_is_named() -> None:
    code, output = ping(top="http://127.0.0.1:1", app="http://127.0.0.1:1/api/proxy/api/v1")

    assert code == 1
    assert output.count("refused the connection") == 2


def test_missing_endpoints_are_listed() -> None:
    code, output = ping(top="", app="")

    assert code == 2
    assert "HIAGENT_TOP_ENDPOINT is not set" in output
    assert "HIAGENT_APP_BASE_URL is not set" in output
