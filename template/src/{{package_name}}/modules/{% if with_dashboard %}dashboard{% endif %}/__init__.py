"""The dashboard: its build (Node), its static serving and its typed API client."""
