"""Agent configurations, their version history and test runs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from ...core.models import created_at_field, enum_type, json_field, updated_at_field


class ConfigType(StrEnum):
    """What a configuration points at on the HiAgent platform."""

    AGENT = "agent"
    WORKFLOW = "workflow"
    RETRIEVER = "retriever"
    TOOL = "tool"


class AgentConfig(SQLModel, table=True):
    """A HiAgent agent, workflow, retriever or tool made available under a friendly name."""

    __tablename__ = "agent_configs"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    description: str = Field(default="", max_length=2000)
    config_type: ConfigType = Field(
        default=ConfigType.AGENT, sa_type=enum_type(ConfigType), index=True
    )
    app_key: str = Field(max_length=255)
    workspace_id: str | None = Field(default=None, max_length=255)
    workflow_id: str | None = Field(default=None, max_length=255)
    dataset_ids: list[str] = json_field([], server_default="[]")
    tool_id: str | None = Field(default=None, max_length=255)
    variables: dict[str, str] = json_field({}, server_default="{}")
    enabled: bool = Field(default=True, index=True)
    max_concurrency: int = Field(default=8, ge=1)
    first_token_timeout_s: float = Field(default=30.0, gt=0)
    total_timeout_s: float = Field(default=120.0, gt=0)
    version: int = Field(default=1)
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    updated_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AgentConfigVersion(SQLModel, table=True):
    """One saved state of a configuration: who changed it, when, and how."""

    __tablename__ = "agent_config_versions"
    __table_args__ = (UniqueConstraint("agent_config_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_config_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("agent_configs.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    version: int
    change: str = Field(max_length=16)
    snapshot: dict[str, Any] = json_field({}, server_default="{}")
    changed_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    changed_at: datetime = created_at_field()


class TestRunStatus(StrEnum):
    """Outcome of a test run."""

    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"


class AgentTestRun(SQLModel, table=True):
    """A configurator's trial of a configuration; immutable."""

    __tablename__ = "agent_test_runs"
    __test__ = False  # not a pytest test class despite its name

    id: int | None = Field(default=None, primary_key=True)
    agent_config_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("agent_configs.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    test_input: dict[str, Any] = json_field({}, server_default="{}")
    test_output: str = Field(default="")
    status: TestRunStatus = Field(sa_type=enum_type(TestRunStatus))
    error: str | None = Field(default=None)
    duration_ms: int = Field(default=0)
    tokens_in: int = Field(default=0)
    tokens_out: int = Field(default=0)
    tested_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    timestamp: datetime = created_at_field(index=True)
