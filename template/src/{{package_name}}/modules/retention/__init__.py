"""Data retention (docs/operations.md): archive the request log, delete what has expired."""
