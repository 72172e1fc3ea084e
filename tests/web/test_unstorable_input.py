"""Text a database cannot store (U+0000, a lone surrogate) is cleaned at the edge, the same way everywhere:
the web chat, a Telegram webhook and the console login answer it (no 500) and store the cleaned text, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.accounts.passwords import Passwords
from bot.console.api import HANDOFF
from bot.inputs import clean_text
from bot.settings import Settings
from bot.web.app import SERVICES, build_app
from bot.webhooks import PIPELINE
from tests.channels.telegram.conftest import SECRET, TOKEN, payload_json
from tests.channels.telegram.fakeapi import FakeTelegramApi
from tests.web.conftest import drop_schema

Client = TestClient[web.Request, web.Application]

# As a client's JSON encoder writes them: "\u0000" and a high surrogate with no low one after it.
POISON = "zdravei\x00 rabota v germaniq \ud800 pomosht"
CLEANED = "zdravei rabota v germaniq \ufffd pomosht"


def test_the_cleaner() -> None:
    assert clean_text(POISON) == CLEANED
    assert clean_text("a\tb\nc\r\x1b[31m\x7f") == "a\tb\nc\r[31m"
    assert clean_text("\udc80\U0001f600") == "\ufffd\U0001f600"  # a lone low surrogate; an emoji stays
    assert clean_text("Здравейте") == "Здравейте"


async def test_web_chat(client: Client) -> None:
    session = "u" + secrets.token_hex(8)
    body = json.dumps({"session": session, "text": POISON})  # ensure_ascii: the escapes go over the wire
    assert "\\u0000" in body and "\\ud800" in body
    resp = await client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["replies"]
    assert client.app is not None
    store = client.app[SERVICES].store
    transcript = await store.transcript(store.key_for("web", session))
    assert [m.text for m in transcript if m.direction == "in"] == [CLEANED]


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeTelegramApi]:
    api = FakeTelegramApi(TOKEN)
    await api.start()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
async def telegram_client(settings: Settings, fake_api: FakeTelegramApi) -> AsyncIterator[Client]:
    channels = dataclasses.replace(
        settings.channels,
        telegram_token=SecretStr(TOKEN),
        telegram_secret=SecretStr(SECRET),
        telegram_api_url=fake_api.url,
    )
    app = build_app(dataclasses.replace(settings, channels=channels))
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as c:
            yield c
    finally:
        if settings.storage.schema:
            await drop_schema(settings.storage.database_url, settings.storage.schema)


async def test_telegram_webhook(telegram_client: Client, fake_api: FakeTelegramApi) -> None:
    update: dict[str, Any] = payload_json("text_message")
    update["message"]["text"] = POISON
    chat = update["message"]["chat"]["id"]
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    resp = await telegram_client.post("/webhooks/telegram", data=json.dumps(update), headers=headers)
    assert resp.status == 200, await resp.text()
    app = telegram_client.app
    assert app is not None
    await app[PIPELINE].idle()
    assert fake_api.sent_to(chat), "the person was not answered"
    store = app[SERVICES].store
    transcript = await store.transcript(store.key_for("telegram", str(chat)))
    assert [m.text for m in transcript if m.direction == "in"] == [CLEANED]


async def test_console_login(client: Client) -> None:
    assert client.app is not None
    h = client.app[HANDOFF]
    name = "mira" + secrets.token_hex(3)
    password = "correct horse battery staple"
    await h.repo.add_user(name, "mediator", Passwords(h.auth.passwords.hasher).hash(password))
    poisoned = json.dumps({"username": "\x00" + name + "\ud800", "password": password + "\x00"})
    resp = await client.post("/api/console/login", data=poisoned, headers={"Content-Type": "application/json"})
    assert resp.status == 401, await resp.text()  # the name is now "<name>\ufffd": unknown, not a crash
    failed = [a.actor for a in await h.repo.audit_log() if a.action == "login_failed"]
    assert failed == [name + "\ufffd"]
    # NUL alone is dropped, so the cleaned name is the user's: the same text everywhere.
    resp = await client.post(
        "/api/console/login",
        data=json.dumps({"username": name + "\x00", "password": password}),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200, await resp.text()
