"""Settings of the tickets module, declared in its manifest (read and checked at start-up)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TicketSettings(BaseSettings):
    """`TICKETS_TRIAGE_AGENT`: the agent configuration (name) that triages tickets."""

    model_config = SettingsConfigDict(env_prefix="TICKETS_", env_file=".env", extra="ignore")

    triage_agent: str = Field(default="ticket-triage", min_length=1, max_length=100)
