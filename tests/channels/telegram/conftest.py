"""A fake Bot API on loopback, one shared aiohttp session, and the channel pointed at them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.channels.telegram import TelegramChannel
from tests.channels.telegram.fakeapi import FakeTelegramApi

PAYLOADS = Path(__file__).resolve().parent / "payloads"
TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
SECRET = "sigurno-test-secret_0123456789"


def payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def payload_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(payload(name))
    return data


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeTelegramApi]:
    api = FakeTelegramApi(TOKEN)
    await api.start()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def channel(fake_api: FakeTelegramApi, session: aiohttp.ClientSession) -> TelegramChannel:
    return TelegramChannel(TOKEN, SECRET, fake_api.url, session, timeout=1.0, ack_timeout=0.5)
