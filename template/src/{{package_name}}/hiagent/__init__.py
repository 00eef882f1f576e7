"""Integration with the HiAgent platform."""
