"""The review page's tests run on the console's fixtures (memory + SQLite, Redis + PostgreSQL)."""

from tests.handoff.conftest import app_settings, client, mediators, rig, rig_factory

__all__ = ["app_settings", "client", "mediators", "rig", "rig_factory"]
