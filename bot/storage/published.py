"""Published versions: one row per published thing ("content", "nlu_model") holding its version number.

A publish (content by editors, a retrained NLU model) bumps its row, in the same transaction as what it
publishes when it writes to the database (`bump_in`). Every running process follows the rows
(bot/live.py) and swaps in the new version: the database is the one place processes on any number of
hosts agree on, so no Redis is needed for this. Created by migration 0004.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.engine import WRITE
from bot.storage.models import Base, UtcDateTime
from bot.storage.store import Store, redact_errors

NAME_MAX = 32


class PublishedVersion(Base):
    __tablename__ = "published_versions"

    name: Mapped[str] = mapped_column(String(NAME_MAX), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


async def bump_in(conn: AsyncConnection, name: str, now: datetime) -> int:
    """Raise `name`'s version by one inside the caller's transaction; the new version (1 the first time)."""
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"a published name is 1 to {NAME_MAX} characters")
    insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    table = PublishedVersion.__table__
    stmt = (
        insert(table)
        .values(name=name, version=1, updated_at=now)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"version": table.c.version + 1, "updated_at": now})
        .returning(table.c.version)
    )
    return int((await conn.execute(stmt)).scalar_one())


@redact_errors
class PublishedRepo:
    """`PublishedRepo(store)`: shares the store's engine and clock."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._engine = store.engine
        self._writer = store.engine.execution_options(**WRITE)

    async def bump(self, name: str) -> int:
        """Publish a new version of `name` (when what it names lives outside the database, e.g. a file)."""
        async with self._writer.begin() as conn:
            return await bump_in(conn, name, self._store._now())

    async def versions(self) -> dict[str, int]:
        """Every published name and its version (one small read: every process runs it twice a second)."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(PublishedVersion.name, PublishedVersion.version))
            return {str(name): int(version) for name, version in rows}
