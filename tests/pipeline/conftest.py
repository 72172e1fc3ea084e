"""The webhook pipeline in-process: the real app (aiohttp TestServer) with a minimal fake Channel.

`FakeChannel` signs with HMAC like Viber/Messenger, parses {"events": [...]} bodies and records what it
sends; it can fail, hang (then time out like a real channel) or be slow, per user. `Bot` wraps the
app: `post(events)` signs and posts a body, `idle()` waits for the background tasks, `store`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import itertools
import json
import os
import secrets as secrets_module
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.channels import Channels
from bot.channels.base import Capabilities, Inbound, SendError
from bot.settings import Settings, StorageSettings, load_settings
from bot.storage.store import Store
from bot.web.app import SERVICES, build_app
from bot.webhooks import PIPELINE, Pipeline
from dialogues.types import Event, Reply
from tests.conftest import ROOT
from tests.web.conftest import drop_schema

PG_URL = os.environ.get("SIGURNO_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("SIGURNO_TEST_REDIS_URL")
SECRET = b"fake-channel-secret"


@dataclass(frozen=True)
class Sent:
    user: str
    reply: Reply
    at: float
    platform_id: str


FAKE_CAPABILITIES = Capabilities(
    text_limit=4000, max_buttons=3, button_title_limit=24, payload_limit_bytes=64, reply_window=None, silent_send=False
)


@dataclass
class FakeChannel:
    """A channel for tests only: HMAC-signed JSON bodies in, sends recorded in memory."""

    name: str = "fake"
    capabilities: Capabilities = FAKE_CAPABILITIES
    sent: list[Sent] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # every send attempt's user, in order
    fail_for: set[str] = field(default_factory=set)  # HTTP 500-like failure
    permanent_for: set[str] = field(default_factory=set)  # blocked by the person
    hang_for: set[str] = field(default_factory=set)  # no answer: times out after hang_seconds
    hang_seconds: float = 0.5
    delay: float = 0.0  # every send takes this long
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers.get("X-Fake-Signature", ""), expected)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[Inbound]:
        try:
            data = json.loads(body)
        except ValueError as e:
            raise ValueError("not JSON") from e
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise ValueError("no events")
        out: list[Inbound] = []
        for ev in data["events"]:
            kind = ev.get("kind", "message")
            event = None
            if kind == "message":
                event = Event("payload", payload=ev["payload"]) if "payload" in ev else Event("text", text=ev["text"])
            out.append(
                Inbound(
                    channel=self.name,
                    kind=kind,
                    user_id=str(ev.get("user", "")),
                    event=event,
                    dedup_key=str(ev.get("id", "")),
                    receipt_for=str(ev.get("receipt_for", "")),
                    receipt_status=str(ev.get("status", "")),
                )
            )
        return out

    async def send(self, user_id: str, reply: Reply) -> list[str]:
        self.attempts.append(user_id)
        if user_id in self.hang_for:
            await asyncio.sleep(self.hang_seconds)
            raise SendError(f"fake: no answer within {self.hang_seconds:g} s")
        if user_id in self.permanent_for:
            raise SendError("fake: the person blocked the bot", permanent=True)
        if user_id in self.fail_for:
            raise SendError("fake: HTTP 500")
        if self.delay:
            await asyncio.sleep(self.delay)
        pid = f"f{next(self._ids)}"
        self.sent.append(Sent(user_id, reply, time.monotonic(), pid))
        return [pid]

    def to(self, user: str) -> list[Reply]:
        return [s.reply for s in self.sent if s.user == user]


def sign(body: bytes) -> dict[str, str]:
    return {"X-Fake-Signature": hmac.new(SECRET, body, hashlib.sha256).hexdigest(), "Content-Type": "application/json"}


def body_of(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


class Bot:
    """The running app with a fake channel."""

    def __init__(self, client: TestClient[web.Request, web.Application], channel: FakeChannel) -> None:
        self.client = client
        self.channel = channel

    @property
    def app(self) -> web.Application:
        assert self.client.app is not None
        return self.client.app

    @property
    def store(self) -> Store:
        return self.app[SERVICES].store

    @property
    def pipeline(self) -> Pipeline:
        return self.app[PIPELINE]

    async def post(
        self, *events: dict[str, Any], raw: bytes | None = None, headers: dict[str, str] | None = None
    ) -> int:
        body = raw if raw is not None else body_of(*events)
        resp = await self.client.post("/webhooks/fake", data=body, headers=sign(body) if headers is None else headers)
        await resp.read()
        return resp.status

    async def idle(self) -> None:
        await self.pipeline.idle()


def make_settings(
    base_dir: Path, nlu_model_path: Path, *, postgres: bool = False, redis: bool = False, **limits: int
) -> Settings:
    base = load_settings(ROOT / "config.yml", env={})
    storage = StorageSettings(database_url=f"sqlite+aiosqlite:///{base_dir}/sigurno.db")
    secrets = base.secrets
    if postgres:
        assert PG_URL
        storage = StorageSettings(database_url=PG_URL, schema=f"pipe_{secrets_module.token_hex(6)}")
        secrets = dataclasses.replace(
            secrets,
            user_key_secret=SecretStr("pipeline-test-secret-0123456789"),
            data_key=SecretStr("c2lndXJuby10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE="),
        )
    if redis:
        assert REDIS_URL
        storage = dataclasses.replace(storage, redis_url=REDIS_URL, redis_prefix=f"t{secrets_module.token_hex(6)}:")
    return dataclasses.replace(
        base,
        storage=storage,
        secrets=secrets,
        nlu=dataclasses.replace(base.nlu, model_path=nlu_model_path, data_dir=ROOT / "nlu" / "data"),
        content=dataclasses.replace(base.content, dir=ROOT / "content" / "data"),
        channels=dataclasses.replace(base.channels, send_timeout_seconds=1.0),
        limits=dataclasses.replace(base.limits, **limits),
        server=dataclasses.replace(base.server, max_body_bytes=16_384),
    )


@dataclass
class Bots:
    """Starts apps (several may share one database: restarts, or several processes)."""

    settings: Settings
    started: list[TestClient[web.Request, web.Application]] = field(default_factory=list)

    async def start(self, channel: FakeChannel | None = None, settings: Settings | None = None) -> Bot:
        channel = channel or FakeChannel()
        app = build_app(settings or self.settings, channels=Channels({channel.name: channel}))
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        self.started.append(client)
        return Bot(client, channel)

    async def stop(self, bot: Bot) -> None:
        self.started.remove(bot.client)
        await bot.client.close()

    async def close(self) -> None:
        for c in self.started:
            await c.close()


@pytest.fixture
async def bots(tmp_path: Path, nlu_model_path: Path) -> AsyncIterator[Bots]:
    b = Bots(make_settings(tmp_path, nlu_model_path))
    yield b
    await b.close()


@pytest.fixture
async def bot(bots: Bots) -> Bot:
    return await bots.start()


@pytest.fixture
async def shared_bots(tmp_path: Path, nlu_model_path: Path) -> AsyncIterator[Bots]:
    """Apps sharing PostgreSQL and Redis, like several `sigurno serve` processes."""
    if not (PG_URL and REDIS_URL):
        pytest.skip(
            "needs PostgreSQL and Redis (SIGURNO_TEST_POSTGRES_URL, SIGURNO_TEST_REDIS_URL; make test sets them)"
        )
    settings = make_settings(tmp_path, nlu_model_path, postgres=True, redis=True)
    b = Bots(settings)
    try:
        yield b
    finally:
        await b.close()
        assert settings.storage.schema
        await drop_schema(settings.storage.database_url, settings.storage.schema)


WAIT = timedelta(seconds=10)
