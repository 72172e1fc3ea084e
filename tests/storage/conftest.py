"""Storage fixtures: every test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL needs SIGURNO_TEST_POSTGRES_URL (`make test` sets it when PostgreSQL runs on
127.0.0.1:5432); each test gets a fresh schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bot.storage.engine import make_engine
from bot.storage.store import Store

PG_ENV = "SIGURNO_TEST_POSTGRES_URL"
USER_KEY_SECRET = b"test-user-key-secret-0123456789ab"
TABLES = ("people", "conversations", "messages", "cases", "case_events")


class Clock:
    """A settable clock: real time until `now` is set."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now if self.now is not None else datetime.now(UTC)


@dataclass
class Backend:
    name: str
    url: str
    schema: str | None
    sqlite_path: Path | None
    clock: Clock = field(default_factory=Clock)
    data_key: bytes = field(default_factory=Fernet.generate_key)
    opened: list[Store] = field(default_factory=list)

    async def open(self, *, migrate: bool = True) -> Store:
        store = await Store.open(
            self.url, USER_KEY_SECRET, self.data_key, migrate=migrate, schema=self.schema, clock=self.clock
        )
        self.opened.append(store)
        return store

    async def raw_dump(self) -> bytes:
        """Everything the database holds, as bytes: the SQLite files, or every PostgreSQL row as JSON."""
        if self.sqlite_path is not None:
            files = [
                self.sqlite_path,
                *(self.sqlite_path.with_name(self.sqlite_path.name + s) for s in ("-wal", "-shm")),
            ]
            return b"".join(p.read_bytes() for p in files if p.exists())
        engine = make_engine(self.url, schema=self.schema, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                names = (
                    await conn.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": self.schema}
                    )
                ).scalars()
                parts: list[str] = []
                for name in list(names):
                    rows = await conn.execute(text(f'SELECT row_to_json(t)::text FROM "{name}" t'))
                    parts.extend(str(r[0]) for r in rows)
                tokens = await conn.execute(text("SELECT platform_id_enc FROM people"))
                blobs = [bytes(r[0]) for r in tokens]
        finally:
            await engine.dispose()
        return "\n".join(parts).encode() + b"\n" + b"\n".join(blobs)

    async def count_rows(self) -> dict[str, int]:
        engine = make_engine(self.url, schema=self.schema, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return {t: int((await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()) for t in TABLES}
        finally:
            await engine.dispose()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "data" / "sigurno.db"  # a folder that does not exist yet
        b = Backend("sqlite", f"sqlite+aiosqlite:///{path}", None, path)
        yield b
        for s in b.opened:
            await s.close()
        return

    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL to test against (make test sets it when PostgreSQL runs)")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    b = Backend("postgres", url, schema, None)
    try:
        yield b
    finally:
        for s in b.opened:
            await s.close()
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await engine.dispose()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()
