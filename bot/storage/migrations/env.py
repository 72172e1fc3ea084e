"""Alembic environment, driven from code only (bot.storage.migrations), never from an alembic.ini.

The caller opens the connection (async engine, run_sync) and the transaction, and passes the
connection in `config.attributes["connection"]`: the whole upgrade is one transaction.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run Sigurno migrations through bot.storage.migrations.upgrade(url), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite needs batch mode
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
