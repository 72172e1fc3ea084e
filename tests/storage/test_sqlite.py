"""What only the embedded default (SQLite) has: a private file in WAL mode with foreign keys on."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.storage.store import Store
from tests import peek

from .conftest import USER_KEY_SECRET


async def test_sqlite_file_folder_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "var" / "sigurno.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}", USER_KEY_SECRET, Fernet.generate_key())
    try:
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        async with store.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            assert (await conn.execute(text("PRAGMA secure_delete"))).scalar_one() == 1
    finally:
        await store.close()


async def test_sqlite_in_memory_works(tmp_path: Path) -> None:
    store = await Store.open("sqlite+aiosqlite:///:memory:", USER_KEY_SECRET, Fernet.generate_key())
    try:
        key = (await store.person("web", "session-1")).key
        await store.add_message(key, "in", "text", "hi")
        assert [m.text for m in await store.transcript(key)] == ["hi"]
        await store.erase_person(key)
        assert await store.transcript(key) == []
    finally:
        await store.close()


async def test_data_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    data_key = Fernet.generate_key()
    store = await Store.open(url, USER_KEY_SECRET, data_key)
    key = (await store.person("telegram", "42")).key
    await store.open_case(key, priority="urgent", signals=["violence"], country=None, channel="telegram")
    await store.close()

    store = await Store.open(url, USER_KEY_SECRET, data_key, migrate=False)
    try:
        assert await store.platform_id(key) == "42"
        case = await peek.open_case_of(store, key)
        assert case is not None and case.priority == "urgent"
    finally:
        await store.close()
