"""Settings of the agents module: the agents `bootstrap` sets up (docs/agents.md).

`HIAGENT_AGENTS` maps agent names to HiAgent app keys, as JSON:

    HIAGENT_AGENTS='{"support-bot": "<app key>", "report": {"app_key": "<app key>",
                    "config_type": "workflow", "workflow_id": "<id>"}}'

A value that cannot be used stops start-up saying what to fix (never echoing a key).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .schemas import ConfigEntry, validation_messages

_EXAMPLE = '{"support-bot": "<app key>"}'


def parse_agents(value: str) -> list[ConfigEntry]:
    """The entries of a HIAGENT_AGENTS value; ValueError says what to fix."""
    try:
        loaded = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            f"write it as {_EXAMPLE}: each agent's name, then its HiAgent app key"
        ) from None
    if not isinstance(loaded, dict):
        raise ValueError(f"must be a JSON object such as {_EXAMPLE}, not a {type(loaded).__name__}")
    entries, problems = [], []
    for name, given in loaded.items():
        fields: Any = {"app_key": given} if isinstance(given, str) else given
        if not isinstance(fields, dict) or "name" in fields:
            problems.append(
                f"{name!r}: give its app key as a string, or an object of settings "
                '(such as {"app_key": "...", "description": "..."}) without "name"'
            )
            continue
        if "app_key" not in fields:
            problems.append(f"{name!r}: its app key is missing")
            continue
        try:
            entries.append(ConfigEntry.model_validate({**fields, "name": name}))
        except ValidationError as exc:
            details = validation_messages(exc)
            problems.append(f"{name!r}: {details}")
    if problems:
        raise ValueError("; ".join(problems))
    return entries


class AgentSettings(BaseSettings):
    """`HIAGENT_AGENTS` and `HIAGENT_AGENTS_OVERWRITE`."""

    model_config = SettingsConfigDict(
        env_prefix="HIAGENT_", env_file=".env", extra="ignore", case_sensitive=False
    )

    # Agent name -> app key (or settings), set up by `bootstrap`; see the module docstring.
    agents: SecretStr | None = None
    # Also replace configurations a person changed since `bootstrap` last set them.
    agents_overwrite: bool = False

    @field_validator("agents")
    @classmethod
    def _usable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            try:
                parse_agents(value.get_secret_value())
            except ValueError as exc:
                # A custom error: its message is ours alone, without pydantic's prefix.
                raise PydanticCustomError("hiagent_agents", str(exc)) from None
        return value

    def entries(self) -> list[ConfigEntry]:
        """The configurations HIAGENT_AGENTS names (none when it is unset or blank)."""
        if self.agents is None or not self.agents.get_secret_value().strip():
            return []
        return parse_agents(self.agents.get_secret_value())
