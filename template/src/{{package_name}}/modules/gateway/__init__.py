"""Calls to HiAgent agents, workflows, retrievers and tools by configuration name."""
