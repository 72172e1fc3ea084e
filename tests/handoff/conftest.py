"""Handoff fixtures, each on both setups: memory coordination + SQLite, and Redis + PostgreSQL.

- `rig`: the handoff services on a Store with a settable clock (state machine, relay, timers);
- `app_settings` / `client`: the whole aiohttp app (TestServer), users made with `add_user`, and
  `Mediator`: a logged-in console user with their own cookie jar and CSRF token.

Redis + PostgreSQL needs SIGURNO_TEST_POSTGRES_URL and SIGURNO_TEST_REDIS_URL (`make test` sets them when
the services run); every test gets its own PostgreSQL schema (dropped afterwards), which also names its
Redis event channel, so runs sharing one Redis do not see each other's events.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bot.accounts.passwords import Passwords
from bot.console.api import HANDOFF
from bot.coordination import Coordination, MemoryCoordination, RedisCoordination
from bot.dispatcher import Dispatcher
from bot.handoff.relay import Registry
from bot.handoff.service import Handoff, open_handoff
from bot.settings import (
    ConsoleSettings,
    LimitSettings,
    Settings,
    StorageSettings,
    load_settings,
)
from bot.storage.console_repo import ConsoleRepo
from bot.storage.engine import make_engine
from bot.storage.store import Store
from bot.web.app import build_app
from content import Content, load_content
from nlu.pipeline import Nlu
from tests import peek
from tests.conftest import ROOT
from tests.storage.conftest import Clock

PG_URL = os.environ.get("SIGURNO_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("SIGURNO_TEST_REDIS_URL")
USER_KEY_SECRET = "handoff-test-user-key-secret-0123456789"
PASSWORD = "correct horse battery staple"
SETUPS = ["memory-sqlite", pytest.param("redis-postgres", marks=[pytest.mark.postgres, pytest.mark.redis])]

Client = TestClient[web.Request, web.Application]


def need_services() -> tuple[str, str]:
    if not PG_URL or not REDIS_URL:
        pytest.skip(
            "PostgreSQL and Redis needed: set SIGURNO_TEST_POSTGRES_URL and SIGURNO_TEST_REDIS_URL "
            "(make test does when they run)"
        )
    return PG_URL, REDIS_URL


async def drop_schema(schema: str) -> None:
    assert PG_URL
    engine = make_engine(PG_URL, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


def base_settings(setup: str, tmp_path: Path, nlu_model_path: Path, schema: str | None = None) -> Settings:
    base = load_settings(ROOT / "config.yml", env={})
    # The tests run the timers themselves; runs sharing one Redis share the per-address login bucket.
    # Cheap password hashing: the production parameters are tested once (test_accounts.py).
    console = ConsoleSettings(timer_seconds=3600, login_attempts_per_ip=1_000_000, argon2_profile="CHEAPEST")
    limits = LimitSettings(web_ip_per_minute=1_000_000)
    if setup == "redis-postgres":
        pg, redis = need_services()
        storage = StorageSettings(database_url=pg, schema=schema or f"ho_{uuid.uuid4().hex[:12]}", redis_url=redis)
        secrets_ = dataclasses.replace(
            base.secrets, user_key_secret=SecretStr(USER_KEY_SECRET), data_key=SecretStr(Fernet.generate_key().decode())
        )
    else:
        storage = StorageSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/sigurno.db")
        secrets_ = base.secrets
    return dataclasses.replace(
        base,
        storage=storage,
        secrets=secrets_,
        console=console,
        limits=limits,
        nlu=dataclasses.replace(base.nlu, model_path=nlu_model_path, data_dir=ROOT / "nlu" / "data"),
        content=dataclasses.replace(base.content, dir=ROOT / "content" / "data"),
    )


# -- the handoff services on a store with a settable clock --------------------------------------------


@dataclass
class Rig:
    setup: str
    settings: Settings
    store: Store
    dispatcher: Dispatcher
    handoff: Handoff
    clock: Clock
    coordination: Coordination
    extra: list[Any] = field(default_factory=list)

    @property
    def repo(self) -> ConsoleRepo:
        return self.handoff.repo

    async def person_with_case(
        self, channel: str = "web", platform_id: str | None = None, priority: str = "urgent", country: str = "DE"
    ) -> tuple[str, int]:
        """A person who wrote once, with a queued case; (person key, case id)."""
        pid = platform_id or "s" + secrets.token_hex(8)
        person = await self.store.person(channel, pid, "en")
        await self.store.add_message(person.key, "in", "text", "they took my passport")
        case, _ = await self.store.open_case(
            person.key, priority=priority, signals=["document_retention"], country=country, channel=channel
        )
        return person.key, case.id


@pytest.fixture(params=SETUPS)
async def rig_factory(request: pytest.FixtureRequest, tmp_path: Path, nlu: Nlu) -> AsyncIterator[Any]:
    setup: str = request.param
    settings = base_settings(setup, tmp_path, ROOT / "var" / "unused-model")
    content: Content = load_content(ROOT / "content" / "data")
    opened: list[tuple[Store, Coordination, Any]] = []
    clock = Clock()

    async def make(channels: Registry | None = None) -> Rig:
        if setup == "redis-postgres":
            assert REDIS_URL
            store = await Store.open(
                settings.storage.database_url,
                settings.secrets.user_key_secret.get_secret_value().encode(),
                settings.secrets.data_key.get_secret_value().encode(),
                schema=settings.storage.schema,
                clock=clock,
            )
            coordination: Coordination = await RedisCoordination.open(REDIS_URL, settings.limits)
        else:
            store = await Store.open(
                settings.storage.database_url, USER_KEY_SECRET.encode(), Fernet.generate_key(), clock=clock
            )
            coordination = MemoryCoordination(settings.limits)
        dispatcher = Dispatcher(store, nlu, content, settings, clock=clock, coordination=coordination)
        cm = open_handoff(settings, store, content, dispatcher, channels=channels, run_timers=False)
        handoff = await cm.__aenter__()
        opened.append((store, coordination, cm))
        return Rig(setup, settings, store, dispatcher, handoff, clock, coordination)

    yield make
    for store, coordination, cm in reversed(opened):
        await cm.__aexit__(None, None, None)
        await coordination.close()
        await store.close()
    if setup == "redis-postgres" and settings.storage.schema:
        await drop_schema(settings.storage.schema)


@pytest.fixture
async def rig(rig_factory: Any) -> Rig:
    made: Rig = await rig_factory()
    return made


# -- the whole app ------------------------------------------------------------------------------------


@pytest.fixture(params=SETUPS)
def app_settings(request: pytest.FixtureRequest, tmp_path: Path, nlu_model_path: Path) -> Settings:
    return base_settings(request.param, tmp_path, nlu_model_path)


@pytest.fixture
async def client(app_settings: Settings) -> AsyncIterator[Client]:
    app = build_app(app_settings)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as c:
            yield c
    finally:
        if app_settings.storage.schema:
            await drop_schema(app_settings.storage.schema)


def handoff_of(client: Client) -> Handoff:
    assert client.app is not None
    return client.app[HANDOFF]


async def add_user(client: Client, role: str = "mediator", name: str | None = None) -> str:
    """A console user (unique name: Redis login counters are shared between runs); returns the name."""
    name = name or f"{role[:3]}-{secrets.token_hex(4)}"
    h = handoff_of(client)
    await h.repo.add_user(name, role, Passwords(h.auth.passwords.hasher).hash(PASSWORD))
    return name


class Mediator:
    """A console user's browser: its own cookie jar; `csrf` from login; JSON in and out."""

    def __init__(self, client: Client, name: str) -> None:
        self.client, self.name = client, name
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def login(self, password: str = PASSWORD) -> aiohttp.ClientResponse:
        resp = await self.http.post(self.url("/api/console/login"), json={"username": self.name, "password": password})
        if resp.status == 200:
            self.csrf = (await resp.json())["csrf"]
        return resp

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(self.url(path)) as resp:
            return resp.status, await resp.json()

    async def post(self, path: str, body: dict[str, Any] | None = None, *, csrf: str | None = None) -> tuple[int, Any]:
        """POST JSON with the session's CSRF token (`csrf=""` sends none, another value sends that)."""
        token = self.csrf if csrf is None else csrf
        headers = {"X-CSRF-Token": token} if token else {}
        async with self.http.post(self.url(path), json=body or {}, headers=headers) as resp:
            return resp.status, await resp.json()

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def mediators(client: Client) -> AsyncIterator[Any]:
    made: list[Mediator] = []

    async def make(role: str = "mediator", *, login: bool = True) -> Mediator:
        m = Mediator(client, await add_user(client, role))
        made.append(m)
        if login:
            resp = await m.login()
            assert resp.status == 200, await resp.text()
        return m

    yield make
    for m in made:
        await m.close()


def sid() -> str:
    return "w" + secrets.token_hex(8)


async def chat(client: Client, session: str, **body: Any) -> list[str]:
    """POST /api/chat; the reply texts."""
    resp = await client.post("/api/chat", json={"session": session, **body})
    assert resp.status == 200, await resp.text()
    return [r["text"] for r in (await resp.json())["replies"]]


URGENT_EN = "help, they took our passports and lock us in the house in germany"


async def urgent_web_case(client: Client) -> tuple[str, int]:
    """A web chat person in English who sent an urgent message; (session, case id)."""
    s = sid()
    await chat(client, s, payload="/start")
    await chat(client, s, payload="lang:en")
    await chat(client, s, text=URGENT_EN)
    h = handoff_of(client)
    case = await peek.open_case_of(h.store, h.store.key_for("web", s))
    assert case is not None and case.status == "queued" and case.priority == "urgent"
    return s, case.id
