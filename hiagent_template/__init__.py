"""Scaffolding CLI of the HiAgent Backend Template (`hiagent-template`)."""
