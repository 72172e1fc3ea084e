"""Viber test fixtures: the signed payloads, a fake Viber API on loopback, a channel pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.channels.viber import ViberChannel, signature
from tests.channels.viber.fakeviber import FakeViber

PAYLOADS = Path(__file__).resolve().parent / "payloads"
# The shape of a real Viber auth token (three dash-separated 16-hex-digit groups); a test value.
TOKEN = "4b1d7e5c0a9f3e21-9c8d7b6a5f4e3d2c-0f1e2d3c4b5a6978"
TOKEN_PARTS = tuple(TOKEN.split("-"))


def payload(name: str) -> bytes:
    """A fixture body exactly as Viber sends it (raw bytes: the signature covers these)."""
    return (PAYLOADS / f"{name}.json").read_bytes()


def signed(body: bytes, token: str = TOKEN) -> dict[str, str]:
    return {"X-Viber-Content-Signature": signature(token, body), "Content-Type": "application/json"}


def leaks(text: str) -> bool:
    """Does the text hold the token, or any recognisable piece of it?"""
    return TOKEN in text or any(part in text for part in TOKEN_PARTS)


@pytest.fixture
async def fake() -> AsyncIterator[FakeViber]:
    async with FakeViber(TOKEN) as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def channel(fake: FakeViber, session: aiohttp.ClientSession) -> ViberChannel:
    return ViberChannel(TOKEN, fake.url, session, timeout_seconds=0.5)
