"""Sign-in, tokens and role checks."""
