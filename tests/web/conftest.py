"""The running app on SQLite and on PostgreSQL, with the session's NLU model (no retraining)."""

from __future__ import annotations

import dataclasses
import os
import secrets as secrets_module
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.settings import Settings, StorageSettings, load_settings
from bot.web.app import SERVICES, build_app
from bot.wiring import Services
from tests.conftest import ROOT

PG_URL = os.environ.get("SIGURNO_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, nlu_model_path: Path) -> Settings:
    base = load_settings(ROOT / "config.yml", env={})
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("PostgreSQL not available: set SIGURNO_TEST_POSTGRES_URL (make test does when it runs)")
        storage = StorageSettings(database_url=PG_URL, schema=f"web_{secrets_module.token_hex(6)}")
        secrets = dataclasses.replace(
            base.secrets,
            user_key_secret=SecretStr("web-test-secret-0123456789"),
            data_key=SecretStr("c2lndXJuby10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE="),
        )
    else:
        storage = StorageSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/sigurno.db")
        secrets = base.secrets
    return dataclasses.replace(
        base,
        storage=storage,
        secrets=secrets,
        nlu=dataclasses.replace(base.nlu, model_path=nlu_model_path, data_dir=ROOT / "nlu" / "data"),
        content=dataclasses.replace(base.content, dir=ROOT / "content" / "data"),
        console=dataclasses.replace(base.console, argon2_profile="CHEAPEST"),  # production's: test_accounts.py
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = build_app(settings)
    try:
        async with TestClient(TestServer(app, host="127.0.0.1")) as c:
            yield c
    finally:
        if settings.storage.schema:
            await drop_schema(settings.storage.database_url, settings.storage.schema)


async def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


def services(client: TestClient[web.Request, web.Application]) -> Services:
    app = client.app
    assert app is not None
    return app[SERVICES]
