"""Background agent and workflow runs: submit, follow, read the result."""
