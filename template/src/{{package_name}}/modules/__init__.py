"""Vertical slices of the product: each module owns its models, API, events and tests.

Modules here are discovered at start-up (see `core/plugins.py`); add your own with
`<slug> add-module NAME`.
"""
