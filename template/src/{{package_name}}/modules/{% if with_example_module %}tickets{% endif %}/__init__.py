"""Example business module: support-ticket triage by a HiAgent agent.

Read it as the whole path a product module takes: a model and its migration, an API, an
event published with the data it describes, a handler that calls an agent through the
gateway (retries, circuit breaker, limits and the request log included), and tests that run
against the HiAgent emulator.
"""
