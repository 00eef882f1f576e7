"""Operational runbooks: Markdown files in the project's `runbooks/` folder, served to people."""
