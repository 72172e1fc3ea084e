"""Reports fixtures: the whole app (web chat, a Telegram channel against a fake Bot API on loopback, the
console) on both setups, memory + SQLite and Redis + PostgreSQL, with console users of each role."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.settings import Settings
from bot.storage.store import Store
from bot.web.app import SERVICES, build_app
from bot.webhooks import PIPELINE
from content import load_content
from tests.channels import harness
from tests.conftest import ROOT
from tests.handoff.conftest import SETUPS, Client, Mediator, add_user, base_settings, drop_schema

JOB_QUESTIONS = load_content(ROOT / "content" / "data").jobcheck


class Bot:
    """The running app: talk to it on the web chat and on Telegram, read it in the console."""

    def __init__(self, client: Client, api: harness.FakePlatform, settings: Settings) -> None:
        self.client, self.api, self.settings = client, api, settings
        self.update_id = 1000
        self.users: list[Mediator] = []

    @property
    def app(self) -> web.Application:
        assert self.client.app is not None
        return self.client.app

    @property
    def store(self) -> Store:
        return self.app[SERVICES].store

    async def web(self, session: str, *, text: str | None = None, payload: str | None = None) -> dict[str, Any]:
        body = {"session": session, **({"text": text} if text is not None else {"payload": payload})}
        resp = await self.client.post("/api/chat", json=body)
        assert resp.status == 200, await resp.text()
        answer: dict[str, Any] = await resp.json()
        return answer

    async def telegram_tap(self, chat_id: int, data: str) -> None:
        self.update_id += 1
        body = harness.telegram_callback(self.update_id, chat_id, data)
        resp = await self.client.post("/webhooks/telegram", data=body, headers=harness.telegram_headers())
        assert resp.status == 200, await resp.text()
        await self.app[PIPELINE].idle()

    async def user(self, role: str) -> Mediator:
        m = Mediator(self.client, await add_user(self.client, role))
        self.users.append(m)
        resp = await m.login()
        assert resp.status == 200, await resp.text()
        return m


@pytest.fixture(params=SETUPS)
async def bot(request: pytest.FixtureRequest, tmp_path: Path, nlu_model_path: Path) -> AsyncIterator[Bot]:
    settings = base_settings(request.param, tmp_path, nlu_model_path)
    async with harness.FakePlatform() as api:
        channels = dataclasses.replace(
            settings.channels,
            telegram_token=SecretStr(harness.TELEGRAM_TOKEN),
            telegram_secret=SecretStr(harness.TELEGRAM_SECRET),
            telegram_api_url=api.url,
        )
        settings = dataclasses.replace(settings, channels=channels)
        app = build_app(settings)
        try:
            async with TestClient(TestServer(app, host="127.0.0.1")) as client:
                made = Bot(client, api, settings)
                try:
                    yield made
                finally:
                    for m in made.users:
                        await m.close()
        finally:
            if settings.storage.schema:
                await drop_schema(settings.storage.schema)


def session() -> str:
    return "rep-" + secrets.token_hex(8)


def green_answers() -> list[str]:
    """The job-offer check answered without a single warning sign."""
    return ["no" if q.warning_answer else "yes" for q in JOB_QUESTIONS]
