"""Internal event bus with a persistent outbox."""
