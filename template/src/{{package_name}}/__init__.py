"""HiAgent product service."""
