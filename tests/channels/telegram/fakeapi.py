"""A fake Telegram Bot API on loopback: records every call and answers like api.telegram.org.

Requests are `POST /bot<token>/<method>` with a JSON body (what TelegramChannel sends) or a form body
(what python-telegram-bot's own Bot sends); answers are `{"ok": true, "result": ...}` or the Bot API's
error shape `{"ok": false, "error_code": ..., "description": ...}`.

Behaviours can be set for everyone (`default`) or per chat id (`by_chat`): "ok", "blocked" (403),
"chat_not_found" (400), "error500", "bad_gateway" (an HTML 502 from a proxy), "flood" (429 with
retry_after, once, then ok), "flood_long" (429 asking for 30 s) and "hang" (no answer until the server
stops or `hang_seconds` pass). `script` gives the next sendMessage calls one behaviour each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_ID = 7012345678
_ERRORS: dict[str, tuple[int, str]] = {
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "error500": (500, "Internal Server Error"),
    "unauthorized": (401, "Unauthorized"),
}


@dataclass(frozen=True)
class Call:
    method: str
    token: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeTelegramApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.default = "ok"
        self.by_chat: dict[int, str] = {}
        self.script: list[str] = []  # behaviours for the next sendMessage calls, one each, before the others
        self.flood_retry_after: float = 0.05
        self.hang_seconds = 30.0
        self._flooded: set[int] = set()
        self._next_message_id = 1000
        self._release = asyncio.Event()
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self._server.start_server(access_log=None)  # its request lines hold the token

    async def close(self) -> None:
        self._release.set()  # let hanging handlers finish so the server can stop at once
        await self._server.close()

    @property
    def url(self) -> str:
        """The api_url to give the channel (the root the /bot<token>/<method> paths go under)."""
        return str(self._server.make_url("")).rstrip("/")

    # ---- what was received ---------------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int | str) -> list[Call]:
        return [c for c in self.of("sendMessage") if str(c.body.get("chat_id")) == str(chat_id)]

    async def wait_for(self, method: str, count: int, timeout: float = 10.0) -> list[Call]:
        """Wait until `count` calls of `method` arrived; returns them (fails the test on timeout)."""

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.of(method)) >= count)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(f"fake Telegram got {len(self.of(method))} {method} calls, wanted {count}") from None
        return self.of(method)

    # ---- the API -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token, method = request.match_info["token"], request.match_info["method"]
        body = await _body(request)
        async with self._changed:
            self.calls.append(Call(method, token, body))
            self._changed.notify_all()
        if token != self.token:
            return _error(401, "Unauthorized")
        chat_id = _int(body.get("chat_id"))
        behaviour = self.by_chat.get(chat_id, self.default) if chat_id is not None else self.default
        if method == "sendMessage" and self.script:
            behaviour = self.script.pop(0)
        if behaviour == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.hang_seconds)
            return _error(504, "Gateway Timeout")
        if behaviour == "bad_gateway":
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        if behaviour == "flood" and (chat_id or 0) not in self._flooded:
            self._flooded.add(chat_id or 0)
            return _error(429, "Too Many Requests: retry after 1", retry_after=self.flood_retry_after)
        if behaviour == "flood_long":
            return _error(429, "Too Many Requests: retry after 30", retry_after=30)
        if behaviour in _ERRORS:
            return _error(*_ERRORS[behaviour])
        return self._ok(method, body)

    def _ok(self, method: str, body: dict[str, Any]) -> web.Response:
        if method == "getMe":
            result: Any = {"id": BOT_ID, "is_bot": True, "first_name": "Sigurno", "username": "SigurnoBot"}
        elif method == "sendMessage":
            chat_id = _int(body.get("chat_id"))
            text = body.get("text")
            if chat_id is None:
                return _error(400, "Bad Request: chat_id is empty")
            if not isinstance(text, str) or not text.strip():
                return _error(400, "Bad Request: message text is empty")
            if len(text.encode("utf-16-le")) // 2 > 4096:
                return _error(400, "Bad Request: message is too long")
            self._next_message_id += 1
            result = {
                "message_id": self._next_message_id,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Sigurno", "username": "SigurnoBot"},
                "chat": {"id": chat_id, "first_name": "U", "type": "private"},
                "date": int(time.time()),
                "text": text,
            }
            markup = body.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if markup:
                for row in markup.get("inline_keyboard", []):
                    for button in row:
                        data = button.get("callback_data", "")
                        if not 1 <= len(data.encode("utf-8")) <= 64:
                            return _error(400, "Bad Request: BUTTON_DATA_INVALID")
                result["reply_markup"] = markup
        elif method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            result = True
        else:
            return _error(404, "Not Found")
        return web.json_response({"ok": True, "result": result})


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data = await request.json()
        return data if isinstance(data, dict) else {"_": data}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _error(code: int, description: str, *, retry_after: float | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)
