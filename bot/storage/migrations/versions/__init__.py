"""Alembic revisions (loaded by path; the package marker only keeps them in builds)."""
