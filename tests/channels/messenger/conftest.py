from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.channels.messenger import MessengerChannel
from tests.channels.messenger.fakegraph import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, FakeGraph, fake_graph


@pytest.fixture
def channel() -> MessengerChannel:
    """A channel for the pure parts (verify/parse): its session is never used."""
    return MessengerChannel(PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN, "http://127.0.0.1:9/v25.0", session=None)  # type: ignore[arg-type]


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with fake_graph() as g:
        yield g


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def live(graph: FakeGraph, session: aiohttp.ClientSession) -> MessengerChannel:
    """A channel sending to the fake Graph API, with a short timeout for the hang tests."""
    return MessengerChannel(PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN, graph.api_url, session, timeout=0.5)
