"""`Database`: the engine, its transactions and the clock, shared by every repository.

Every repository method is one short transaction through `tx()` (async connection) or `run()` (a
function on a plain connection, the per-message path). The same code runs on SQLite (embedded default)
and PostgreSQL (production, several bot processes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import UpdateBase

from bot.storage.engine import NO_TRANSACTION, WRITE, make_engine, make_sync_sqlite_engine, parse_url, sqlite_file
from bot.storage.errors import StoreError
from bot.storage.migrations import current_revision, upgrade
from bot.storage.models import Base

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class _SyncSqlite:
    """The SQLite file through plain sqlite3 in worker threads, for Database.run (see there).

    Writes are group-committed: the writes that queue up while a batch runs go together in the next
    one, in one transaction (see run_batch for what happens when one of them fails).
    Under load that is one thread hop and one commit for many messages instead of one each."""

    def __init__(self, url: URL) -> None:
        self.engine = make_sync_sqlite_engine(url)
        self.writer = self.engine.execution_options(**WRITE)
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sigurno-sqlite")
        self.pending: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]] = []
        self.flushing = False
        self.flusher: asyncio.Task[None] | None = None

    def run(self, fn: Callable[[Connection], T], write: bool) -> T:
        with (self.writer if write else self.engine).begin() as conn:
            return fn(conn)

    def run_batch(self, fns: list[Callable[[Connection], Any]]) -> list[tuple[bool, Any]]:
        """All in one transaction; if any write fails, the batch is rolled back and each write is run in a
        transaction of its own, so only the failing one fails (failures are rare: no savepoint per write)."""
        if len(fns) > 1:
            try:
                with self.writer.begin() as conn:
                    return [(True, fn(conn)) for fn in fns]
            except Exception:
                pass
        results: list[tuple[bool, Any]] = []
        for fn in fns:
            try:
                results.append((True, self.run(fn, True)))
            except Exception as e:
                results.append((False, e))
        return results

    async def write(self, fn: Callable[[Connection], T], lock: asyncio.Lock) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self.pending.append((fn, done))
        if not self.flushing:
            self.flushing = True
            self.flusher = loop.create_task(self._flush(lock))
        return await done

    async def _flush(self, lock: asyncio.Lock) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    async with lock:
                        results = await loop.run_in_executor(self.executor, self.run_batch, [fn for fn, _ in batch])
                except BaseException as e:  # the commit failed (or we are cancelled): every write in it failed
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(e if isinstance(e, Exception) else RuntimeError("write cancelled"))
                    if not isinstance(e, Exception):
                        raise
                    continue
                for (_, fut), (ok, value) in zip(batch, results, strict=True):
                    if fut.done():
                        continue
                    if ok:
                        fut.set_result(value)
                    else:
                        fut.set_exception(value)
        finally:
            self.flushing = False

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.engine.dispose()


class Statement:
    """A statement of the per-message path, built once. On a SQLite file it is also compiled once to SQL
    and run straight on the plain sqlite3 connection (no SQLAlchemy execution context per call, which
    costs several times the statement itself); elsewhere it runs through SQLAlchemy (whose compiled
    cache makes that one compilation too). Parameters by bind name; values are converted by the
    columns' types exactly as SQLAlchemy converts them, both ways. IN over constants is written as ORs
    (an expanding IN cannot be compiled once)."""

    def __init__(self, stmt: UpdateBase | Select[*tuple[Any, ...]], raw_dialect: Dialect | None) -> None:
        self.stmt = stmt
        self.sql: str | None = None
        self.slots: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
        self.columns: list[tuple[str, Callable[[Any], Any] | None]] = []
        if raw_dialect is not None:
            compiled = stmt.compile(dialect=raw_dialect)
            sql = str(compiled)
            if "POSTCOMPILE" in sql or compiled.positiontup is None:
                raise ValueError("a prepared statement needs plain positional parameters (no expanding IN)")
            for name in compiled.positiontup:
                bind = compiled.binds[name]
                self.slots.append(
                    (name, None if bind.required else bind.effective_value, bind.type.bind_processor(raw_dialect))
                )
            if isinstance(stmt, Select):
                for col in stmt.selected_columns:
                    impl = col.type.dialect_impl(raw_dialect)
                    self.columns.append((str(col.key), impl.result_processor(raw_dialect, None)))
            self.sql = sql

    def _raw(self, conn: Connection, params: dict[str, Any]) -> Any:
        values = []
        for name, default, process in self.slots:
            value = params.get(name, default)
            values.append(value if process is None or value is None else process(value))
        return conn.connection.dbapi_connection.execute(self.sql, values)  # type: ignore[union-attr]

    def run(self, conn: Connection, params: dict[str, Any]) -> int:
        """Execute; the number of rows changed."""
        if self.sql is None:
            return int(conn.execute(self.stmt, params).rowcount)
        cursor = self._raw(conn, params)
        cursor.fetchall()
        return int(cursor.rowcount)

    def scalar(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Execute; the first column of the first row returned, or None."""
        if self.sql is None:
            return conn.execute(self.stmt, params).scalar()
        rows = self._raw(conn, params).fetchall()
        return rows[0][0] if rows else None

    def rows(self, conn: Connection, params: dict[str, Any]) -> Sequence[Mapping[Any, Any]]:
        """A select's rows, each a mapping by column key."""
        if self.sql is None:
            return conn.execute(self.stmt, params).mappings().all()
        columns = self.columns
        return [
            {
                key: value if process is None or value is None else process(value)
                for (key, process), value in zip(columns, row, strict=True)
            }
            for row in self._raw(conn, params).fetchall()
        ]


class Database:
    """`await Database.open(url)`; `await db.close()`. One per process, shared by the repositories."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**WRITE)  # BEGIN IMMEDIATE on SQLite; the same engine elsewhere
        self._clock = clock
        self.sqlite_wal = self.dialect == "sqlite" and sqlite_file(engine.url) is not None
        # SQLite has one writer at a time: queue this process's writers here (FIFO, no busy-wait sleeps)
        # rather than in SQLite's busy handler, which sleeps in steps of up to 100 ms under contention.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        self._sync = _SyncSqlite(engine.url) if self.sqlite_wal else None
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    def statement(self, stmt: UpdateBase | Select[*tuple[Any, ...]]) -> Statement:
        """`stmt` prepared for Database.run (see Statement)."""
        return Statement(stmt, self._sync.engine.dialect if self._sync is not None else None)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        schema: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Database:
        """Connect (sqlite+aiosqlite or postgresql+asyncpg) and, unless migrate=False, upgrade the schema.

        `schema` (PostgreSQL only) keeps every table in that schema; `clock` replaces the UTC clock (tests).
        """
        parse_url(url)
        engine = make_engine(url, schema=schema)
        try:
            if migrate:
                await upgrade(engine, schema=schema)
            elif await current_revision(engine) is None:
                raise StoreError("the database has no Sigurno schema yet: open it once with migrate=True")
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, clock or utc_now)

    async def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
        await self.engine.dispose()

    def now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    @asynccontextmanager
    async def tx(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction on the async engine (BEGIN IMMEDIATE behind this process's write lock on SQLite)."""
        if write and self._write_lock is not None:
            async with self._write_lock, self._writer.begin() as conn:
                yield conn
            return
        async with (self._writer if write else self.engine).begin() as conn:
            yield conn

    async def run(self, fn: Callable[[Connection], T], *, write: bool) -> T:
        """Run `fn` as one transaction: on a SQLite file in a worker thread on a plain sqlite3 connection
        (one thread hop for the whole transaction, where aiosqlite makes one per statement), elsewhere
        on the async connection."""
        sync = self._sync
        if sync is None:
            if not write and self.dialect == "postgresql":
                # A read needs no transaction of its own: no BEGIN / COMMIT round trips.
                async with self._autocommit.connect() as conn:
                    return await conn.run_sync(fn)
            async with self.tx(write=write) as conn:
                return await conn.run_sync(fn)
        if write:
            assert self._write_lock is not None
            return await sync.write(fn, self._write_lock)
        return await asyncio.get_running_loop().run_in_executor(sync.executor, sync.run, fn, False)

    def upsert(self, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
        """INSERT ... ON CONFLICT in this database's dialect."""
        return postgresql.insert(model) if self.dialect == "postgresql" else sqlite.insert(model)

    async def scrub(self) -> None:
        """SQLite: move the WAL (which still holds old page images) into the file and truncate it."""
        if not self.sqlite_wal:
            return
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**NO_TRANSACTION)
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
