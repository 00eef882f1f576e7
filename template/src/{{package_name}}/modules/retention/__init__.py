"""Data retention (blueprint Appendix D): archive the request log, delete what has expired."""
