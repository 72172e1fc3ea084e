"""Async engines for SQLite (the embedded default) and PostgreSQL, set up the same way everywhere.

SQLite: the database file and its folder are created private (0600 / 0700); every connection runs
in WAL mode (synchronous=NORMAL) with foreign keys on, a busy timeout, and secure_delete (erased and pruned text is
overwritten, not left in free pages). SQLAlchemy emits BEGIN itself instead of the sqlite3 driver,
so reads see one snapshot and writes can start with BEGIN IMMEDIATE (`WRITE` execution options):
a writer waits for the lock instead of failing with "database is locked" halfway through.

PostgreSQL: `schema` puts every table (and Alembic's version table) in that schema through the
connection's search_path, so one database can hold several isolated installations (the tests
use a fresh schema per test).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SUPPORTED = ("sqlite+aiosqlite", "postgresql+asyncpg")
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
BUSY_TIMEOUT_MS = 30_000
IDLE_PING_SECONDS = 5.0  # PostgreSQL: a pooled connection unused this long is checked before use

# Execution options understood by the SQLite BEGIN hook (ignored on PostgreSQL).
BEGIN_OPTION = "sigurno_sqlite_begin"
WRITE: dict[str, Any] = {BEGIN_OPTION: "IMMEDIATE"}
NO_TRANSACTION: dict[str, Any] = {BEGIN_OPTION: None}


def parse_url(url: str | URL) -> URL:
    u = make_url(url)
    if u.drivername not in SUPPORTED:
        raise ValueError(f"database url must start with {' or '.join(s + '://' for s in SUPPORTED)}")
    return u


def sqlite_file(u: URL) -> Path | None:
    """The file behind a SQLite URL, or None for in-memory and URI databases."""
    db = u.database or ""
    if not db or db == ":memory:" or db.startswith("file:") or u.query.get("uri") or u.query.get("mode") == "memory":
        return None
    return Path(db)


def _prepare_sqlite_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):  # an empty file is a valid new database; keep it private
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_engine(url: str | URL, *, schema: str | None = None, **kwargs: Any) -> AsyncEngine:
    """An AsyncEngine for a sqlite+aiosqlite or postgresql+asyncpg URL, with Sigurno's connection set-up."""
    u = parse_url(url)
    # Statement parameters are message text and encrypted ids: never in error messages (and so logs).
    kwargs.setdefault("hide_parameters", True)
    if u.drivername.startswith("sqlite"):
        if schema is not None:
            raise ValueError("schema is only for PostgreSQL")
        path = sqlite_file(u)
        if path is not None:
            _prepare_sqlite_file(path)
        engine = create_async_engine(u, **kwargs)
        _sqlite_hooks(engine, wal=path is not None)
        return engine

    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if schema is not None:
        if not SCHEMA_NAME.match(schema):
            raise ValueError(f"schema name must match {SCHEMA_NAME.pattern}")
        server_settings = dict(connect_args.get("server_settings", {}))
        server_settings["search_path"] = schema
        connect_args["server_settings"] = server_settings
    if kwargs.get("poolclass") is None:
        kwargs.setdefault("pool_size", 10)  # a busy process runs a few transactions per message in flight
    engine = create_async_engine(u, connect_args=connect_args, **kwargs)
    if not kwargs.get("pool_pre_ping") and kwargs.get("poolclass") is None:
        _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """pool_pre_ping, but only for a connection that sat unused for IDLE_PING_SECONDS: a restarted server or a
    dropped idle connection is still caught before use, and a busy bot does not pay a round trip per
    transaction (a quarter of the database time of a message)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["sigurno_idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.get("sigurno_idle_since")
        if since is not None and time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            ok = engine.dialect.do_ping(dbapi_connection)
        except Exception as e:
            raise DisconnectionError("the connection is gone") from e
        if not ok:
            raise DisconnectionError("the connection is gone")  # the pool opens a new one and tries again


def make_sync_sqlite_engine(url: str | URL) -> Engine:
    """A plain (pysqlite) engine on the same SQLite file as a sqlite+aiosqlite URL, set up the same way.

    The Store runs its per-message transactions on it in a worker thread: one thread hop per
    transaction instead of one per statement (aiosqlite), which is most of the cost of a turn."""
    u = parse_url(url)
    path = sqlite_file(u)
    if path is None:
        raise ValueError("a SQLite file is needed (in-memory databases are not shared between connections)")
    _prepare_sqlite_file(path)
    engine = create_engine(
        u.set(drivername="sqlite+pysqlite"),
        pool_size=2,
        max_overflow=0,
        connect_args={"check_same_thread": False},
        hide_parameters=True,
    )
    _sqlite_hooks(engine, wal=True)
    return engine


def _sqlite_hooks(target: AsyncEngine | Engine, *, wal: bool) -> None:
    engine = target.sync_engine if isinstance(target, AsyncEngine) else target

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA secure_delete = ON")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                # WAL + NORMAL: a commit is in the WAL file when it returns (a crash of the process loses
                # nothing, the file is never corrupted) but is fsynced at checkpoints, not per commit: a
                # power cut can lose the last moments. FULL costs an fsync per commit (3+ ms here), which
                # caps the whole bot at a few dozen messages a second.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        if mode is not None:
            conn.exec_driver_sql(f"BEGIN {mode}")
