"""Captured Telegram shapes through the webhook of the in-process app: a captioned photo is answered as
the text it carries; a genuine update python-telegram-bot cannot read inside gets 200 (so Telegram does
not resend it for a day), nothing is answered or stored, and the log names only the exception type."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.settings import StorageSettings, load_settings
from bot.web.app import SERVICES, build_app
from bot.webhooks import PIPELINE
from tests.channels.telegram.conftest import SECRET, TOKEN, payload
from tests.channels.telegram.fakeapi import FakeTelegramApi
from tests.conftest import ROOT

Client = TestClient[web.Request, web.Application]
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
PERSON = "521934877"


@pytest.fixture
async def client(tmp_path: Path, nlu_model_path: Path, fake_api: FakeTelegramApi) -> AsyncIterator[Client]:
    base = load_settings(ROOT / "config.yml", env={})
    settings = dataclasses.replace(
        base,
        storage=StorageSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/sigurno.db"),
        nlu=dataclasses.replace(base.nlu, model_path=nlu_model_path, data_dir=ROOT / "nlu" / "data"),
        content=dataclasses.replace(base.content, dir=ROOT / "content" / "data"),
        channels=dataclasses.replace(
            base.channels,
            telegram_token=SecretStr(TOKEN),
            telegram_secret=SecretStr(SECRET),
            telegram_api_url=fake_api.url,
        ),
    )
    async with TestClient(TestServer(build_app(settings), host="127.0.0.1")) as c:
        yield c


async def post(client: Client, body: bytes) -> int:
    resp = await client.post("/webhooks/telegram", data=body, headers=HEADERS)
    await resp.read()
    assert client.app is not None
    await client.app[PIPELINE].idle()
    return resp.status


async def test_a_captioned_document_is_answered_as_its_text(client: Client, fake_api: FakeTelegramApi) -> None:
    assert await post(client, payload("document_caption")) == 200
    assert fake_api.sent_to(PERSON)
    assert client.app is not None
    store = client.app[SERVICES].store
    ins = [m for m in await store.transcript(store.key_for("telegram", PERSON)) if m.direction == "in"]
    assert [(m.kind, m.text) for m in ins] == [("text", "Това ли е договорът, който трябва да подпиша?")]


async def test_an_update_ptb_cannot_read_gets_200_and_is_ignored(
    client: Client, fake_api: FakeTelegramApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert await post(client, payload("strict_parse_failure")) == 200
    assert await post(client, payload("strict_parse_failure")) == 200  # a resend: the same answer
    assert not fake_api.of("sendMessage")
    assert client.app is not None
    store = client.app[SERVICES].store
    assert await store.transcript(store.key_for("telegram", PERSON)) == []
    assert "cannot read was ignored (TypeError)" in caplog.text
    for private in ("виж какво", "Работа в чужбина", PERSON, "sender_user_name"):
        assert private not in caplog.text
