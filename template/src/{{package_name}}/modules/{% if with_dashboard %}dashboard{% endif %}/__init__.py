"""The dashboard: its build (Node), its static serving, its menu and its typed API client."""
