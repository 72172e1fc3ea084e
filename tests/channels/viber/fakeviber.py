"""A fake Viber REST API on loopback: records what the bot sends and answers like chatapi.viber.com.

Modes (per receiver, or for everyone via `default`):
  ok      {"status":0,"status_message":"ok","message_token":<64-bit int>,"chat_hostname":...}
  status5 / status6 / status12   the Viber error statuses (receiverNotRegistered / NotSubscribed / tooManyRequests)
  http500 an HTTP 500 with an HTML body
  hang    never answers (until the server is closed)
  garbage HTTP 200 with a body that is not JSON
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

STATUS = {
    "status5": (5, "receiverNotRegistered"),
    "status6": (6, "receiverNotSubscribed"),
    "status12": (12, "tooManyRequests"),
}


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any]


@dataclass
class FakeViber:
    token: str
    default: str = "ok"
    by_receiver: dict[str, str] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    webhook_status: int = 0
    _server: TestServer | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(5_741_311_803_571_721_000))

    @property
    def url(self) -> str:
        """The API root the channel appends /pa/<method> to."""
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def sent(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == "/pa/send_message"]

    def sent_to(self, receiver: str) -> list[dict[str, Any]]:
        return [b for b in self.sent() if b.get("receiver") == receiver]

    async def start(self) -> FakeViber:
        app = web.Application()
        app.router.add_post("/pa/send_message", self._send_message)
        app.router.add_post("/pa/set_webhook", self._set_webhook)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def close(self) -> None:
        self._release.set()
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeViber:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _record(self, request: web.Request) -> Recorded | web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return web.json_response({"status": 3, "status_message": "badData"})
        rec = Recorded(request.path, dict(request.headers), raw, body)
        self.requests.append(rec)
        if request.headers.get("X-Viber-Auth-Token") != self.token:
            return web.json_response({"status": 2, "status_message": "invalidAuthToken"})
        return rec

    async def _send_message(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if isinstance(rec, web.Response):
            return rec
        mode = self.by_receiver.get(str(rec.body.get("receiver")), self.default)
        if mode == "hang":
            await self._release.wait()
            return web.Response(status=503)
        if mode == "http500":
            return web.Response(status=500, text="<html>Internal Server Error</html>", content_type="text/html")
        if mode == "garbage":
            return web.Response(status=200, text="<html>hello</html>", content_type="text/html")
        if mode in STATUS:
            code, message = STATUS[mode]
            return web.json_response({"status": code, "status_message": message})
        # Viber's message_token is a 64-bit integer, written as a bare JSON number.
        return web.Response(
            text=f'{{"status":0,"status_message":"ok","message_token":{next(self._tokens)},"chat_hostname":"SN-CHAT-05_"}}',
            content_type="application/json",
        )

    async def _set_webhook(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if isinstance(rec, web.Response):
            return rec
        if self.default == "hang":
            await self._release.wait()
            return web.Response(status=503)
        if self.webhook_status:
            return web.json_response({"status": self.webhook_status, "status_message": "invalidUrl"})
        return web.json_response(
            {"status": 0, "status_message": "ok", "event_types": rec.body.get("event_types", []), "chat_hostname": "x"}
        )
