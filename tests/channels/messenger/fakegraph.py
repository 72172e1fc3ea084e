"""A fake Graph API (Send API only) on loopback: records every request and answers like Graph.

Behaviour is chosen per recipient PSID (``graph.behaviour[psid] = "window"``) or for everyone
(``graph.default``), or request by request (``graph.plan = ["ok", "500"]``): "ok", "window" (code 10 / 2018278), "unavailable" (551), "500", "hang".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

PAYLOADS = Path(__file__).resolve().parent / "payloads"

APP_SECRET = "test-app-secret-4f1c2a9e7b3d"
PAGE_TOKEN = "EAAGtestPAGEtoken" + "Zx9" * 40  # shaped like a long-lived page token
VERIFY_TOKEN = "test-verify-token-8d2e"
PAGE_ID = "104523456789012"
API_VERSION = "/v25.0"

_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "window": (
        400,
        {
            "message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException",
            "code": 10,
            "error_subcode": 2018278,
            "fbtrace_id": "AbCdEfGhIjK",
        },
    ),
    "unavailable": (
        400,
        {
            "message": "(#551) This person isn't available right now.",
            "type": "OAuthException",
            "code": 551,
            "error_subcode": 1545041,
            "fbtrace_id": "AbCdEfGhIjL",
        },
    ),
    "500": (
        500,
        {
            "message": "An unexpected error has occurred. Please retry your request later.",
            "type": "OAuthException",
            "code": 2,
            "is_transient": True,
            "fbtrace_id": "AbCdEfGhIjM",
        },
    ),
}


def payload(name: str) -> bytes:
    """The raw bytes of a fixture, exactly as stored (the signature covers these bytes)."""
    return (PAYLOADS / f"{name}.json").read_bytes()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)}


@dataclass
class Sent:
    query: dict[str, str]
    body: dict[str, Any]

    @property
    def recipient(self) -> str:
        return str(self.body["recipient"]["id"])

    @property
    def text(self) -> str:
        return str(self.body["message"]["text"])


@dataclass
class FakeGraph:
    server: TestServer
    token: str = PAGE_TOKEN  # the page token the bot must present
    default: str = "ok"
    behaviour: dict[str, str] = field(default_factory=dict)
    plan: list[str] = field(default_factory=list)  # modes for the next requests, in order, before the others
    sent: list[Sent] = field(default_factory=list)  # messages Graph accepted
    requests: list[Sent] = field(default_factory=list)  # every request, accepted or not
    release: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        """What MessengerChannel takes as api_url (the Graph root with its version)."""
        return str(self.server.make_url(API_VERSION))

    @property
    def root(self) -> str:
        """The server root (the harness's server_env appends the version itself)."""
        return str(self.server.make_url("")).rstrip("/")

    def to(self, psid: str) -> list[Sent]:
        return [s for s in self.sent if s.recipient == psid]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        record = Sent(dict(request.query), body)
        self.requests.append(record)
        if request.query.get("access_token") != self.token:
            return _error(400, {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190})
        psid = str(body.get("recipient", {}).get("id", ""))
        mode = self.plan.pop(0) if self.plan else self.behaviour.get(psid, self.default)
        if mode == "hang":
            await self.release.wait()
            return _error(500, _ERRORS["500"][1])
        if mode in _ERRORS:
            status, err = _ERRORS[mode]
            return _error(status, err)
        self.sent.append(record)
        return web.json_response({"recipient_id": psid, "message_id": f"m_fakegraph{next(self._ids):06d}"})


def _error(status: int, err: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": err}), content_type="application/json")


@asynccontextmanager
async def fake_graph(token: str = PAGE_TOKEN) -> AsyncIterator[FakeGraph]:
    app = web.Application()
    server = TestServer(app, host="127.0.0.1")
    graph = FakeGraph(server, token=token)
    app.router.add_post(f"{API_VERSION}/me/messages", graph.handle)
    await server.start_server(access_log=None)  # Graph's own request log (token in the URL) is not ours
    try:
        yield graph
    finally:
        graph.release.set()  # let hanging handlers finish so the server closes at once
        await server.close()
