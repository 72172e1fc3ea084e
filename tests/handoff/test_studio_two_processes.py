"""Two bot apps sharing PostgreSQL and Redis (as two processes would): an editor publishes through one, and
the other answers with the new text within 2 seconds (each follows the published version, 0.5 s polls)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.web.app import build_app

from .conftest import Client, Mediator, add_user, base_settings, drop_schema
from .test_studio_api import ANSWER, put, web_answer

PUBLISHED = "Публикуван текст: работете само с писмен договор."
REACH_SECONDS = 2.0


@pytest.fixture
async def pair(tmp_path: Path, nlu_model_path: Path) -> AsyncIterator[tuple[Client, Client]]:
    settings: Settings = base_settings("redis-postgres", tmp_path, nlu_model_path)
    try:
        async with (
            TestClient(TestServer(build_app(settings), host="127.0.0.1")) as one,
            TestClient(TestServer(build_app(settings), host="127.0.0.1")) as two,
        ):
            yield one, two
    finally:
        assert settings.storage.schema
        await drop_schema(settings.storage.schema)


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_publish_through_one_reaches_the_other_within_2_seconds(pair: tuple[Client, Client]) -> None:
    one, two = pair
    editor = Mediator(one, await add_user(one, "editor"))
    try:
        assert (await editor.login()).status == 200
        assert PUBLISHED not in await web_answer(two)
        status, saved = await put(editor, ANSWER, {"texts": {"bg": PUBLISHED}})
        assert status == 200, saved
        status, published = await editor.post("/api/console/content/publish", {"ids": [ANSWER]})
        assert status == 200, published
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REACH_SECONDS
        while PUBLISHED not in await web_answer(two):
            assert loop.time() < deadline, "the publish did not reach the second app within 2 s"
            await asyncio.sleep(0.05)
        assert PUBLISHED in await web_answer(one)
    finally:
        await editor.close()
