"""Storage errors reach the log by operation and type only: never the text or ids in their parameters.

Each case makes the database or its driver refuse a write that carries a person's text, the way a
webhook or the console would, then logs the error the way the app does (logging.exception, with the
traceback) and looks for the text in what was logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.storage.console_repo import ConsoleRepo
from bot.storage.store import StorageFailure, Store, TurnWrite
from tests.storage.conftest import Backend

SECRET = "they took my passport zq"
log = logging.getLogger("bot.test")


def _cases(store: Store) -> dict[str, Callable[[], Awaitable[object]]]:
    repo = ConsoleRepo(store)
    nul, surrogate = f"{SECRET}\x00", f"{SECRET}\ud800"
    return {
        "turn text with U+0000": lambda: store.record_turn(TurnWrite("telegram", "1", incoming=("text", nul, None))),
        "turn text with a lone surrogate": lambda: store.record_turn(
            TurnWrite("telegram", "1", incoming=("text", surrogate, None))
        ),
        "turn for a case that does not exist": lambda: store.record_turn(
            TurnWrite("telegram", "1", incoming=("text", SECRET, None), in_case_id=999_999)
        ),
        "reply text with U+0000": lambda: store.record_turn(TurnWrite("telegram", "1", outgoing=(nul,))),
        "message with a lone surrogate": lambda: store.add_message(
            store.key_for("telegram", "1"), "in", "text", surrogate
        ),
        "platform id with U+0000": lambda: store.person("telegram", nul),
        "pushed text with a lone surrogate": lambda: repo.add_pushed(
            store.key_for("telegram", "1"), "mediator", surrogate, None, push=True
        ),
        "user name with U+0000": lambda: repo.add_user(f"zq\x00{SECRET[:20]}", "mediator", "hash"),
        "audit detail with a lone surrogate": lambda: repo.audit("admin", "export", detail={"q": surrogate}),
    }


async def test_storage_errors_are_logged_without_the_text(
    store: Store, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")  # the libraries at the level the app gives them
    for name in ("aiosqlite", "sqlalchemy.engine", "asyncpg"):  # as bot.logsafe quiets them
        caplog.set_level(logging.WARNING, logger=name)
    await store.person("telegram", "1")
    failed: list[str] = []
    for name, call in _cases(store).items():
        try:
            await call()
        except StorageFailure as e:
            failed.append(name)
            assert str(e).split(":")[0] in {
                "ConversationRepo.record_turn",
                "MessageRepo.add_message",
                "PeopleRepo.person",
                "ConsoleRepo.add_pushed",
                "AccountRepo.add_user",
                "AuditRepo.audit",
            }
            log.exception("%s failed", name)
        except Exception as e:  # refused before reaching the database (validation, encoding): still no text
            failed.append(name)
            assert SECRET not in str(e)
            log.exception("%s failed", name)
    # The cases that must fail on both databases did (U+0000 is storable text on SQLite only).
    assert {"turn text with a lone surrogate", "turn for a case that does not exist"} <= set(failed)
    if backend.name == "postgres":
        assert "turn text with U+0000" in failed and "reply text with U+0000" in failed
    assert failed and "Traceback" in caplog.text
    assert SECRET not in caplog.text and "passport" not in caplog.text
