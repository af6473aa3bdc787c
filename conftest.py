"""Shared fixtures for every test in the repo live in libs/megacity (real servers, no mocks)."""
pytest_plugins = ["megacity.testing", "megacity.telemetry_testing"]
