"""Testing utilities, loaded as a pytest plugin through the `pytest11` entry point."""
