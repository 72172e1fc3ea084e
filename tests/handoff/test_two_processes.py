"""Two bot apps sharing PostgreSQL and Redis (as two processes would): a case opened through one shows up
live on the other and is claimed exactly once; the bot stays silent on both while a mediator has it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.web.app import build_app

from .conftest import Client, Mediator, add_user, base_settings, chat, drop_schema, urgent_web_case
from .test_api import next_event


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
async def test_a_case_opened_on_one_is_claimed_once_across_both(pair: tuple[Client, Client]) -> None:
    one, two = pair
    mira = Mediator(one, await add_user(one))
    zoya = Mediator(two, await add_user(two))  # same database: a user added through one exists on both
    try:
        assert (await mira.login()).status == 200 and (await zoya.login()).status == 200
        async with zoya.http.get(zoya.url("/api/console/events")) as stream:
            s, case_id = await urgent_web_case(one)
            name, data = await next_event(stream)  # published by app one, streamed by app two
            assert (name, data["case_id"], data["priority"]) == ("case_opened", case_id, "urgent")

            results = await asyncio.gather(
                mira.post(f"/api/console/cases/{case_id}/claim"), zoya.post(f"/api/console/cases/{case_id}/claim")
            )
            assert sorted(status for status, _ in results) == [200, 409]
            name, data = await next_event(stream)
            assert (name, data["change"]) == ("case_updated", "claimed")

            # Whichever app the person's next message reaches, the bot stays silent.
            assert await chat(one, s, text="hello?") == []
            assert await chat(two, s, text="anyone?") == []
            winner = mira if results[0][0] == 200 else zoya
            status, detail = await winner.get(f"/api/console/cases/{case_id}")
            assert status == 200
            assert [m["text"] for m in detail["messages"][-2:]] == ["hello?", "anyone?"]
    finally:
        await mira.close()
        await zoya.close()
