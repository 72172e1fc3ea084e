"""Schema migrations (Alembic), run from code: no alembic.ini, same path for SQLite and PostgreSQL.

`await upgrade(url)` is `alembic upgrade head` in one transaction on the async engine. On
PostgreSQL it first takes an advisory lock, so several bot processes starting together migrate
once; on SQLite the transaction starts with BEGIN IMMEDIATE for the same effect. Running it again
at head changes nothing.

A new revision goes in versions/ as 000N_name.py with `revision = "000N"` and `down_revision` the
previous one; `await autogenerate(url, "message", "000N")` drafts it from bot.storage.models
against a database at head (review it, then `ruff check --fix` and `ruff format` it: the draft
is a starting point). New tables belong on bot.storage.models.Base so the drafts and the
schema-matches-models test see them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from bot.storage.engine import WRITE, make_engine

SCRIPT_LOCATION = Path(__file__).resolve().parent
PG_LOCK_KEY = 0x5167_0001  # pg_advisory_xact_lock key held while migrating


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


async def _run(
    target: str | URL | AsyncEngine, schema: str | None, fn: Callable[[Connection], object], *, write: bool = True
) -> None:
    engine = target if isinstance(target, AsyncEngine) else make_engine(target, schema=schema, poolclass=NullPool)
    try:
        async with (engine.execution_options(**WRITE) if write else engine).begin() as conn:
            if write and conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
                if schema is not None:  # the name was validated by make_engine
                    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.run_sync(fn)
    finally:
        if engine is not target:
            await engine.dispose()


async def upgrade(target: str | URL | AsyncEngine, revision: str = "head", *, schema: str | None = None) -> None:
    """`alembic upgrade head` on a database URL (or an engine from bot.storage.engine.make_engine)."""
    await _run(target, schema, lambda conn: command.upgrade(_config(conn), revision))


async def downgrade(target: str | URL | AsyncEngine, revision: str, *, schema: str | None = None) -> None:
    """`alembic downgrade REVISION` ("base" drops every table and all data in them)."""
    await _run(target, schema, lambda conn: command.downgrade(_config(conn), revision))


async def current_revision(target: str | URL | AsyncEngine, *, schema: str | None = None) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    result: list[str | None] = []
    await _run(
        target, schema, lambda conn: result.append(MigrationContext.configure(conn).get_current_revision()), write=False
    )
    return result[0]


async def autogenerate(
    target: str | URL | AsyncEngine, message: str, rev_id: str, *, schema: str | None = None
) -> None:
    """Draft versions/<rev_id>_<slug>.py from the difference between the models and a database at head."""
    await _run(
        target,
        schema,
        lambda conn: command.revision(_config(conn), message=message, autogenerate=True, rev_id=rev_id),
    )


__all__ = ["autogenerate", "current_revision", "downgrade", "head_revision", "upgrade"]
