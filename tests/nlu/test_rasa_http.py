"""The rasa_http backend against a fake Rasa server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from nlu.backends.base import BackendError
from nlu.backends.rasa_http import RasaHttpBackend
from nlu.pipeline import Nlu


class FakeRasa:
    def __init__(self) -> None:
        self.received: list[Any] = []
        self.mode = "ok"

    async def parse(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received.append(body)
        if self.mode == "error":
            return web.Response(status=500, text="boom")
        if self.mode == "garbage":
            return web.Response(text="<html>")
        if self.mode == "slow":
            await asyncio.sleep(2)
        return web.json_response(
            {
                "text": body["text"],
                "intent": {"name": "residence_rules", "confidence": 0.91},
                "intent_ranking": [
                    {"name": "residence_rules", "confidence": 0.91},
                    {"name": "work_legally", "confidence": 0.05},
                ],
                "entities": [{"entity": "country", "value": "ES", "start": 14, "end": 20}],
            }
        )


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    app = web.Application()
    app.router.add_post("/model/parse", fake.parse)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


async def test_rasa_result_goes_through_the_same_pipeline(rasa: tuple[FakeRasa, str]) -> None:
    fake, url = rasa
    nlu = Nlu(RasaHttpBackend(url))
    try:
        res = await nlu.parse("do I need a NIE in the place")
    finally:
        await nlu.close()
    assert fake.received == [{"text": "do i need a nie in the place"}]
    assert (res.intent, res.country, res.risk) == ("residence_rules", "ES", "none")
    assert res.confidence == pytest.approx(0.91)


async def test_rasa_urgent_risk_is_still_ours(rasa: tuple[FakeRasa, str]) -> None:
    _, url = rasa
    nlu = Nlu(RasaHttpBackend(url))
    try:
        res = await nlu.parse("they took our passports")
    finally:
        await nlu.close()
    assert res.risk == "urgent" and res.intent == "emergency"


@pytest.mark.parametrize("mode", ["error", "garbage", "slow"])
async def test_rasa_failures_are_clear_errors(rasa: tuple[FakeRasa, str], mode: str) -> None:
    fake, url = rasa
    fake.mode = mode
    backend = RasaHttpBackend(url, timeout=0.5)
    try:
        with pytest.raises(BackendError):
            await Nlu(backend).parse("hello")
    finally:
        await backend.close()


async def test_rasa_down_is_a_clear_error() -> None:
    backend = RasaHttpBackend("http://127.0.0.1:9", timeout=0.5)
    try:
        with pytest.raises(BackendError, match="unreachable"):
            await Nlu(backend).parse("hello")
    finally:
        await backend.close()
