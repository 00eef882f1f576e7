"""Bodies of the agent-configs API, with per-type validation."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .models import ConfigType

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")
# Fields each type needs, with the words a configurator sees when one is missing.
REQUIRED_BY_TYPE: dict[ConfigType, tuple[str, str]] = {
    ConfigType.WORKFLOW: ("workflow_id", "A workflow needs its workflow id (workflow_id)."),
    ConfigType.RETRIEVER: ("dataset_ids", "A knowledge retriever needs at least one dataset id."),
    ConfigType.TOOL: ("tool_id", "A tool needs its tool id (tool_id)."),
}


def check_name(value: str) -> str:
    """Names are shown to people and used in URLs: letters, digits, spaces, `_.-`."""
    value = value.strip()
    if not _NAME.match(value):
        raise ValueError(
            "use 1-100 letters, digits, spaces, '_', '.' or '-', starting with a letter or digit"
        )
    if value.isdigit():
        raise ValueError("a name cannot be only digits (it would look like an id)")
    return value


# HiAgent takes the app key in an HTTP header: printable ASCII, no spaces.
APP_KEY_PATTERN = r"^[!-~]+$"


# Text is stripped of surrounding whitespace *after* its length limit, so the limit applies to
# the text as sent, as the OpenAPI schema says (stripping first would accept what it refuses).
Description = Annotated[str, Field(max_length=2000), AfterValidator(str.strip)]
PlatformId = Annotated[str, Field(max_length=255), AfterValidator(str.strip)]


class _Limits(BaseModel):
    max_concurrency: int = Field(default=8, ge=1, le=1000)
    first_token_timeout_s: float = Field(default=30.0, ge=0.1, le=600)
    total_timeout_s: float = Field(default=120.0, ge=0.1, le=3600)


class AgentConfigCreate(_Limits):
    """A new configuration. `app_key` comes from the HiAgent platform."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    app_key: str = Field(min_length=1, max_length=255, pattern=APP_KEY_PATTERN)
    config_type: ConfigType = ConfigType.AGENT
    description: Description = ""
    workspace_id: PlatformId | None = None
    workflow_id: PlatformId | None = None
    dataset_ids: list[PlatformId] = Field(default_factory=list, max_length=100)
    tool_id: PlatformId | None = None
    variables: dict[str, str] = Field(default_factory=dict, max_length=100)
    enabled: bool = True

    _check_name = field_validator("name")(check_name)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Self:
        missing = REQUIRED_BY_TYPE.get(self.config_type)
        if missing and not getattr(self, missing[0]):
            raise ValueError(missing[1])
        return self


class AgentConfigUpdate(BaseModel):
    """Changes to a configuration; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    app_key: str | None = Field(default=None, min_length=1, max_length=255, pattern=APP_KEY_PATTERN)
    config_type: ConfigType | None = None
    description: Description | None = None
    workspace_id: PlatformId | None = None
    workflow_id: PlatformId | None = None
    dataset_ids: list[PlatformId] | None = Field(default=None, max_length=100)
    tool_id: PlatformId | None = None
    variables: dict[str, str] | None = Field(default=None, max_length=100)
    enabled: bool | None = None
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    first_token_timeout_s: float | None = Field(default=None, ge=0.1, le=600)
    total_timeout_s: float | None = Field(default=None, ge=0.1, le=3600)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value)


class AgentConfigRead(_Limits):
    """A configuration as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    config_type: ConfigType
    app_key: str
    workspace_id: str | None
    workflow_id: str | None
    dataset_ids: list[str]
    tool_id: str | None
    variables: dict[str, str]
    enabled: bool
    version: int
    created_by: int | None
    updated_by: int | None
    created_at: datetime
    updated_at: datetime


class ConfigSort(StrEnum):
    """Orders of the configuration list; a leading `-` sorts from last to first."""

    NAME = "name"
    NAME_DESC = "-name"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"
    UPDATED_AT = "updated_at"
    UPDATED_AT_DESC = "-updated_at"
    CONFIG_TYPE = "config_type"
    CONFIG_TYPE_DESC = "-config_type"
    ENABLED = "enabled"
    ENABLED_DESC = "-enabled"


class AgentConfigPage(BaseModel):
    """One page of configurations."""

    items: list[AgentConfigRead]
    total: int
    limit: int
    offset: int


class VersionRead(BaseModel):
    """One entry of a configuration's history, with what changed since the previous one.

    Viewers see only the end of the app key, in `snapshot` and in `diff` alike.
    """

    model_config = ConfigDict(from_attributes=True)

    version: int
    change: str
    changed_by: int | None
    changed_at: datetime
    snapshot: dict[str, Any]
    diff: dict[str, dict[str, Any]] = Field(default_factory=dict)


class VersionPage(BaseModel):
    """A configuration's history, newest first."""

    items: list[VersionRead]
    total: int


# Configuration files (`configs export` / `configs import`, docs/agents.md)

CONFIGS_FILE_KIND = "agent-configs"
CONFIGS_FILE_VERSION = 1


class ConfigEntry(AgentConfigUpdate):
    """One configuration in a file: its name, and the settings it should have.

    Settings left out stay as they are (a new configuration takes the defaults); without
    `app_key`, an existing configuration keeps its key.
    """

    name: str = Field(min_length=1, max_length=100)


class AgentConfigsFile(BaseModel):
    """Agent configurations as a file to review and import elsewhere, sorted by name."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(default=CONFIGS_FILE_KIND, pattern=f"^{CONFIGS_FILE_KIND}$")
    version: int = Field(default=CONFIGS_FILE_VERSION, ge=1, le=CONFIGS_FILE_VERSION)
    app_keys: str = Field(
        default="omitted",
        pattern="^(omitted|included)$",
        description="`included` only when exported with secrets",
    )
    configs: list[ConfigEntry] = Field(max_length=5000)


class ChangeAction(StrEnum):
    """What an import (or the HIAGENT_AGENTS seeding) does to one configuration."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    KEPT = "kept"


class ConfigChange(BaseModel):
    """One configuration's change; `fields` names what changes (never an app key's value)."""

    name: str
    action: ChangeAction
    fields: list[str] = Field(default_factory=list)
    note: str = ""


class ImportReport(BaseModel):
    """What an import changed, or with `dry_run` would change; nothing else is touched."""

    dry_run: bool
    changes: list[ConfigChange]


def validation_messages(error: ValidationError) -> str:
    """A validation error in plain words: each field, then what is wrong with it."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "entry"
        if item["type"] == "string_pattern_mismatch" and where.endswith("app_key"):
            message = "an app key is printable characters without spaces"
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
