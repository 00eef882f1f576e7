"""Settings of the tickets module."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class TicketSettings(BaseSettings):
    """`TICKETS_TRIAGE_AGENT`: the agent configuration (name) that triages tickets."""

    model_config = SettingsConfigDict(env_prefix="TICKETS_", env_file=".env", extra="ignore")

    triage_agent: str = "ticket-triage"


@lru_cache(maxsize=1)
def ticket_settings() -> TicketSettings:
    """Read once per process (not on every triage)."""
    return TicketSettings()
