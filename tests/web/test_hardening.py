"""Hostile clients, as an attacker would be: slow connections, slow and huge bodies, deeply nested JSON,
ids that are not ids, odd query values. The server stays up, answers 4xx and writes no tracebacks.

The app runs as `sigurno serve` runs it (bot/web/serving.start: connection caps and timeouts) on loopback,
with the Telegram channel on (its Bot API is never reached here) and SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.settings import Settings, StorageSettings, load_settings
from bot.web.app import build_app
from bot.web.serving import ConnectionGate, start
from tests.channels.telegram.conftest import SECRET, TOKEN, payload_json
from tests.conftest import ROOT

TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


@dataclass
class Served:
    url: str
    port: int
    gate: ConnectionGate
    runner: web.AppRunner


def hardened_settings(tmp_path: Path, nlu_model_path: Path) -> Settings:
    base = load_settings(ROOT / "config.yml", env={})
    return dataclasses.replace(
        base,
        storage=StorageSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/sigurno.db"),
        nlu=dataclasses.replace(base.nlu, model_path=nlu_model_path, data_dir=ROOT / "nlu" / "data"),
        content=dataclasses.replace(base.content, dir=ROOT / "content" / "data"),
        channels=dataclasses.replace(
            base.channels,
            telegram_token=SecretStr(TOKEN),
            telegram_secret=SecretStr(SECRET),
            telegram_api_url="http://127.0.0.1:9",
        ),
        server=dataclasses.replace(
            base.server,
            max_body_bytes=16_384,
            body_timeout_seconds=1.0,
            idle_timeout_seconds=1.0,
            max_connections=200,
            max_connections_per_address=20,
        ),
    )


@pytest.fixture
async def served(tmp_path: Path, nlu_model_path: Path) -> AsyncIterator[Served]:
    settings = hardened_settings(tmp_path, nlu_model_path)
    runner, gate = await start(build_app(settings), settings.server, host="127.0.0.1", port=0)
    port = runner.addresses[0][1]
    try:
        yield Served(f"http://127.0.0.1:{port}", port, gate, runner)
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    """The server ends the connection within `timeout` (whatever it said before)."""
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        await asyncio.wait_for(reader.read(), timeout)  # read() returns at the end of the stream
    return reader.at_eof() or reader.exception() is not None


async def test_slow_connections_do_not_starve_healthz(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    """60 connections from one address trickling a request head a byte at a time (the cap there is 20):
    /healthz from another address keeps answering, the 40 over the cap are refused at once, the other 20
    are closed when their idle time is up, and the log gets one line about it, not one per connection."""
    caplog.set_level(logging.INFO)
    slow: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for _ in range(60):
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(b"P")
        slow.append((reader, writer))

    async def trickle() -> None:
        for byte in b"OST /api/chat HTTP/1.1\r\n":
            await asyncio.sleep(0.25)
            for _, writer in slow:
                if not writer.transport.is_closing():
                    writer.write(bytes([byte]))

    trickling = asyncio.create_task(trickle())
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=5)) as elsewhere:
        while not trickling.done():
            async with elsewhere.get(served.url + "/healthz") as resp:
                assert resp.status == 200 and await resp.text() == "ok"
            await asyncio.sleep(0.2)
    await trickling
    assert served.gate.refused >= 40
    assert all([await closed_by_server(reader) for reader, _ in slow])
    for _, writer in slow:
        writer.close()
    refusals = [r for r in caplog.records if "connections refused" in r.getMessage()]
    assert len(refusals) == 1
    assert not tracebacks(caplog)


async def test_a_body_that_trickles_in_gets_408(served: Served) -> None:
    for path, headers in (("/api/chat", "Content-Type: application/json\r\n"), ("/webhooks/telegram", "")):
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n{headers}"
            f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n\r\n{{".encode()
        )

        async def drip(w: asyncio.StreamWriter = writer) -> None:
            with contextlib.suppress(ConnectionError):
                for _ in range(40):
                    await asyncio.sleep(0.1)
                    if w.transport.is_closing():
                        return
                    w.write(b" ")

        dripping = asyncio.create_task(drip())
        head = await asyncio.wait_for(reader.readline(), 5)
        assert head.startswith(b"HTTP/1.1 408"), head
        assert await closed_by_server(reader)
        dripping.cancel()
        writer.close()


async def test_too_large_bodies_get_413(served: Served, http: aiohttp.ClientSession) -> None:
    big = b'{"session": "' + b"x" * 20_000 + b'"}'
    async with http.post(served.url + "/api/chat", data=big, headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap counts what arrives
        for _ in range(20):
            yield b" " * 1024

    async with http.post(served.url + "/webhooks/telegram", data=chunks(), headers=TG_HEADERS) as resp:
        assert resp.status == 413


async def test_deeply_nested_json_is_400_without_a_traceback(
    served: Served, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for depth in (40, 5000):
        nested = "[" * depth + "]" * depth
        chat = json.dumps({"session": "s1234567890", "text": "hi", "x": "@"}).replace('"@"', nested)
        for _ in range(5):
            async with http.post(
                served.url + "/api/chat", data=chat, headers={"Content-Type": "application/json"}
            ) as resp:
                assert resp.status == 400
                assert "nests too deeply" in (await resp.json())["error"]
        async with http.post(served.url + "/api/console/login", data=chat, headers=TG_HEADERS) as resp:
            assert resp.status == 400
        update = json.dumps({"update_id": 1, "message": "@"}).replace('"@"', nested)
        async with http.post(served.url + "/webhooks/telegram", data=update, headers=TG_HEADERS) as resp:
            assert resp.status == 400
        # Without the secret the signature decides first: 403, and the body is never parsed.
        unsigned = {"Content-Type": "application/json"}
        async with http.post(served.url + "/webhooks/telegram", data=update, headers=unsigned) as resp:
            assert resp.status == 403
    assert not tracebacks(caplog)


async def test_ids_that_are_not_ids_are_400(served: Served, http: aiohttp.ClientSession) -> None:
    def update(**changes: Any) -> str:
        data: dict[str, Any] = payload_json("text_message")
        data.update(changes)
        return json.dumps(data)

    long_digits = int("9" * 130)
    chat = payload_json("text_message")["message"]
    chat["chat"]["id"] = long_digits
    chat["from"]["id"] = long_digits
    for body in (update(update_id=long_digits), update(update_id="736201001"), update(update_id="12a"),
                 update(message=chat), update(update_id=1.5)):  # fmt: skip
        async with http.post(served.url + "/webhooks/telegram", data=body, headers=TG_HEADERS) as resp:
            assert resp.status == 400, body[:80]


@pytest.mark.parametrize("after", ["²", "١٢", "-1", "1e3", "9" * 19, ""])
async def test_chat_updates_after_must_be_a_plain_number(
    served: Served, http: aiohttp.ClientSession, after: str
) -> None:
    async with http.get(served.url + "/api/chat/updates", params={"session": "s1234567890", "after": after}) as resp:
        assert resp.status == 400
    async with http.get(served.url + "/api/chat/updates", params={"session": "s1234567890", "after": "0"}) as resp:
        assert resp.status == 200


async def test_the_server_header_names_no_versions(served: Served, http: aiohttp.ClientSession) -> None:
    for method, path in (("GET", "/healthz"), ("GET", "/nowhere"), ("POST", "/api/chat"), ("GET", "/")):
        async with http.request(method, served.url + path) as resp:
            assert resp.headers["Server"] == "Sigurno", (path, resp.headers.get("Server"))
