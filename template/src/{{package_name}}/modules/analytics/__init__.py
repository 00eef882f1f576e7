"""Request log and usage analytics."""
