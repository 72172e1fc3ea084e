"""The review page's tests run on the console's app fixtures (memory + SQLite, Redis + PostgreSQL)."""

from tests.handoff.conftest import app_settings, client, mediators

__all__ = ["app_settings", "client", "mediators"]
