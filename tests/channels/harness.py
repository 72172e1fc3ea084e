"""End-to-end harness: a fake platform API on loopback and `sigurno serve` as a real subprocess.

    from tests.channels import harness as h

    async with h.FakePlatform() as api:                      # Telegram, Viber and Messenger on one server
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("telegram",))
        async with h.SigurnoServer(env) as bot:               # `sigurno serve` on a free port
            body = h.telegram_text(update_id=1, chat_id=42, text="zdravei")
            r = await bot.post("/webhooks/telegram", body, h.telegram_headers())
            assert r.status == 200
            sent = await api.wait_for_sends(1)                # what the bot sent, as the platform received it
            assert sent[0].user == "42"

FakePlatform records every request (`api.requests`, `api.sends()`: message sends only) with its time
(`at`: time.monotonic()) and answers like the platform: Telegram `POST /bot<token>/<method>`
({"ok": true, "result": ...}), Viber `POST /pa/<method>` ({"status": 0, "message_token": ...}),
Messenger `POST <version>/me/messages` ({"recipient_id", "message_id"}). `api.behave(mode, user=None,
platform=None)` makes sends answer "ok", "fail" (HTTP 500 with the platform's error shape) or "hang"
(no answer until `api.release()` or the server closes) — for everyone, one platform, or one user.
`api.url` is the root to give as SIGURNO_*_API_URL (Messenger: use `api.url + "/v25.0"`;
`server_env` does this).

SigurnoServer(env) starts `.venv/bin/sigurno serve --host 127.0.0.1 --port <free>` with exactly
`env` (plus PATH/HOME), waits until /healthz answers, and stops it with SIGTERM on exit (the
graceful path: tracked tasks drain). `bot.post()` sends raw bytes; `bot.logs()` is its stderr and
stdout (assert that no token, secret, raw id or message text is in it). `server_env()` builds the
environment: a temporary SQLite database (or PostgreSQL with a fresh schema when `postgres_url` is
given; `redis_url` switches coordination to Redis), the session's NLU model, the API URLs and the
test tokens below for the channels named. Signing helpers make the headers each platform sends:
`telegram_headers()`, `viber_headers(body)`, `messenger_headers(body)`; body builders make the
common payloads: `telegram_text`, `telegram_callback`, `viber_text`, `messenger_text` (and `dumps`
for any other JSON body). `SECRETS` lists every test token and secret (to assert none is logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
SIGURNO = ROOT / ".venv" / "bin" / "sigurno"

TELEGRAM_TOKEN = "7012345678:TEST-harness-token-AAAAAAAAAAAAAAAAAAAA"
TELEGRAM_SECRET = "test-harness-telegram-secret"
VIBER_TOKEN = "4f0e1d2c3b4a5968-test-harness-viber-token"
MESSENGER_PAGE_TOKEN = "EAAtestharnesspagetoken0123456789"
MESSENGER_APP_SECRET = "test-harness-app-secret"
MESSENGER_VERIFY_TOKEN = "test-harness-verify-token"
MESSENGER_VERSION = "v25.0"
USER_KEY_SECRET = "test-harness-user-key-secret-0123"
DATA_KEY = "c2lndXJuby10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE="  # a Fernet key (32 bytes, urlsafe base64)
SECRETS = (
    TELEGRAM_TOKEN,
    TELEGRAM_SECRET,
    VIBER_TOKEN,
    MESSENGER_PAGE_TOKEN,
    MESSENGER_APP_SECRET,
    MESSENGER_VERIFY_TOKEN,
    USER_KEY_SECRET,
    DATA_KEY,
)

Platform = Literal["telegram", "viber", "messenger"]
Mode = Literal["ok", "fail", "hang"]
_TELEGRAM = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
_VIBER = re.compile(r"^/pa/(?P<method>[a-z_]+)$")
_MESSENGER = re.compile(r"^/v[0-9.]+/me/(?P<method>messages)$")
_SEND = {"telegram": "sendMessage", "viber": "send_message", "messenger": "messages"}


@dataclass(frozen=True)
class Recorded:
    """One request the fake platform received."""

    platform: str  # telegram | viber | messenger | unknown
    method: str  # sendMessage, answerCallbackQuery, setWebhook / send_message, set_webhook / messages
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON (or form fields as a dict), else the raw text
    at: float  # time.monotonic() when it arrived

    @property
    def is_send(self) -> bool:
        return self.method == _SEND.get(self.platform)

    @property
    def user(self) -> str:
        """Who a send is for: Telegram chat_id, Viber receiver, Messenger recipient.id ("" if none)."""
        b = self.body if isinstance(self.body, dict) else {}
        if self.platform == "telegram":
            return str(b.get("chat_id", ""))
        if self.platform == "viber":
            return str(b.get("receiver", ""))
        if self.platform == "messenger":
            recipient = b.get("recipient")
            return str(recipient.get("id", "")) if isinstance(recipient, dict) else ""
        return ""

    @property
    def text(self) -> str:
        b = self.body if isinstance(self.body, dict) else {}
        if self.platform == "messenger":
            message = b.get("message")
            return str(message.get("text", "")) if isinstance(message, dict) else ""
        return str(b.get("text", ""))


@dataclass
class _Rule:
    mode: Mode
    user: str | None
    platform: str | None


@dataclass
class FakePlatform:
    """The three platforms' APIs on one loopback server. Use as `async with FakePlatform() as api`."""

    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    _rules: list[_Rule] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    on_request: Callable[[Recorded], None] | None = None  # e.g. the benchmark's timestamping

    async def __aenter__(self) -> FakePlatform:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)  # request lines would hold the Telegram token
        await self._runner.setup()
        self.port = self.port or free_port()
        await web.TCPSite(self._runner, self.host, self.port, backlog=1024).start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The root of every platform API here (Messenger's Graph root is url + "/v25.0")."""
        return f"http://{self.host}:{self.port}"

    # -- behaviour ---------------------------------------------------------------------------------

    def behave(self, mode: Mode, *, user: str | int | None = None, platform: Platform | None = None) -> None:
        """Message sends (for `user` / `platform` / everyone) now answer with `mode`; the newest rule wins."""
        self._rules.insert(0, _Rule(mode, None if user is None else str(user), platform))

    def reset(self) -> None:
        """Forget the recorded requests and the behaviours; let hanging requests finish."""
        self.requests.clear()
        self._rules.clear()
        self.release()

    def release(self) -> None:
        """Answer every hanging request now (with a failure) and stop hanging."""
        self._release.set()
        self._release = asyncio.Event()
        self._rules = [r for r in self._rules if r.mode != "hang"]

    def _mode(self, rec: Recorded) -> Mode:
        if not rec.is_send:
            return "ok"
        for rule in self._rules:
            if (rule.user is None or rule.user == rec.user) and (rule.platform in (None, rec.platform)):
                return rule.mode
        return "ok"

    # -- what arrived ------------------------------------------------------------------------------

    def sends(self, platform: str | None = None, user: str | int | None = None) -> list[Recorded]:
        """Message sends received (in arrival order), optionally of one platform or for one user."""
        return [
            r
            for r in self.requests
            if r.is_send and platform in (None, r.platform) and (user is None or r.user == str(user))
        ]

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]

    async def wait_for(self, check: Callable[[list[Recorded]], bool], timeout: float = 10.0) -> list[Recorded]:
        """Wait until `check(requests)` holds; AssertionError with what arrived when it does not in time."""
        deadline = time.monotonic() + timeout
        while not check(self.requests):
            left = deadline - time.monotonic()
            if left <= 0:
                got = [(r.platform, r.method, r.user) for r in self.requests]
                raise AssertionError(f"fake platform: condition not met in {timeout:g}s; got {got}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.2))
        return list(self.requests)

    async def wait_for_sends(self, count: int, timeout: float = 10.0, **match: Any) -> list[Recorded]:
        """Wait for at least `count` message sends (see sends() for `platform` / `user`), then return them."""
        await self.wait_for(lambda _: len(self.sends(**match)) >= count, timeout)
        return self.sends(**match)

    # -- the server --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any
        if request.content_type == "application/json" or raw[:1] in (b"{", b"["):
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            body = dict(await request.post()) if not raw else dict(_form(raw))
        else:
            body = raw.decode(errors="replace")
        platform, method = "unknown", ""
        for name, pattern in (("telegram", _TELEGRAM), ("viber", _VIBER), ("messenger", _MESSENGER)):
            m = pattern.match(request.path)
            if m:
                platform, method = name, m.group("method")
                break
        rec = Recorded(
            platform, method, request.path, dict(request.query), dict(request.headers), body, time.monotonic()
        )
        self.requests.append(rec)
        if self.on_request is not None:
            self.on_request(rec)
        self._changed.set()
        mode = self._mode(rec)
        if mode == "hang":
            release = self._release
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), timeout=300)
            mode = "fail"
        return _answer(rec, mode, next(self._ids))


def _form(raw: bytes) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(raw.decode(errors="replace"))


def _answer(rec: Recorded, mode: Mode, n: int) -> web.Response:
    ok = mode == "ok"
    if rec.platform == "telegram":
        if not ok:
            return web.json_response(
                {"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500
            )
        result: Any = True
        if rec.method == "sendMessage":
            chat = rec.user
            result = {
                "message_id": n,
                "date": int(time.time()),
                "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
                "text": rec.text,
            }
        return web.json_response({"ok": True, "result": result})
    if rec.platform == "viber":
        if not ok:
            return web.json_response({"status": 3, "status_message": "internal error"}, status=500)
        return web.json_response(
            {
                "status": 0,
                "status_message": "ok",
                "message_token": 5_000_000_000_000_000_000 + n,
                "chat_hostname": "SN-1",
            }
        )
    if rec.platform == "messenger":
        if not ok:
            return web.json_response(
                {"error": {"message": "An unexpected error has occurred.", "type": "OAuthException", "code": 2}},
                status=500,
            )
        return web.json_response({"recipient_id": rec.user, "message_id": f"m_fake{n}"})
    return web.json_response({"error": "unknown path"}, status=404)


# -- the bot as a subprocess -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(
    tmp_path: Path,
    nlu_model_path: Path,
    api_url: str,
    *,
    channels: Iterable[Platform] = ("telegram", "viber", "messenger"),
    postgres_url: str | None = None,
    schema: str | None = None,
    redis_url: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for `sigurno serve` against the fake platform at `api_url` (see the module doc)."""
    env = {
        "SIGURNO_CONFIG": str(ROOT / "config.yml"),
        "SIGURNO_NLU_MODEL": str(nlu_model_path),
        "SIGURNO_TELEGRAM_API_URL": api_url,
        "SIGURNO_VIBER_API_URL": api_url,
        "SIGURNO_MESSENGER_API_URL": f"{api_url}/{MESSENGER_VERSION}",
    }
    if postgres_url:
        env["SIGURNO_DATABASE_URL"] = postgres_url
        env["SIGURNO_USER_KEY_SECRET"] = USER_KEY_SECRET
        env["SIGURNO_DATA_KEY"] = DATA_KEY
        if schema:
            env["SIGURNO_DATABASE_SCHEMA"] = schema
    else:
        env["SIGURNO_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/sigurno.db"
    if redis_url:
        env["SIGURNO_REDIS_URL"] = redis_url
    on = set(channels)
    if "telegram" in on:
        env["SIGURNO_TELEGRAM_TOKEN"] = TELEGRAM_TOKEN
        env["SIGURNO_TELEGRAM_SECRET"] = TELEGRAM_SECRET
    if "viber" in on:
        env["SIGURNO_VIBER_TOKEN"] = VIBER_TOKEN
    if "messenger" in on:
        env["SIGURNO_MESSENGER_PAGE_TOKEN"] = MESSENGER_PAGE_TOKEN
        env["SIGURNO_MESSENGER_APP_SECRET"] = MESSENGER_APP_SECRET
        env["SIGURNO_MESSENGER_VERIFY_TOKEN"] = MESSENGER_VERIFY_TOKEN
    env.update(extra or {})
    return env


class SigurnoServer:
    """`sigurno serve` in a subprocess: `async with SigurnoServer(env) as bot` (see the module doc)."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        args: Iterable[str] = (),
        start_timeout: float = 60.0,
        log_path: Path | None = None,
    ) -> None:
        self.env = dict(env)
        self.args = list(args)
        self.port = free_port()
        self.start_timeout = start_timeout
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self._log_file: Any = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> SigurnoServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"), **self.env}
        if self.log_path is None:
            import tempfile

            self.log_path = Path(tempfile.mkstemp(prefix="sigurno-serve-", suffix=".log")[1])
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = await asyncio.create_subprocess_exec(
            str(SIGURNO) if SIGURNO.exists() else sys.executable,
            *([] if SIGURNO.exists() else ["-m", "bot.cli"]),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *self.args,
            cwd=str(ROOT),
            env=env,
            stdout=self._log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.returncode is not None:
                raise RuntimeError(f"sigurno serve exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                async with self._session.get(f"{self.url}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError(f"sigurno serve did not start in {self.start_timeout:g}s:\n{self.logs()}")
            await asyncio.sleep(0.1)

    async def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> aiohttp.ClientResponse:
        """POST raw bytes; the response is read (use .status, and `await r.text()` / `await r.json()`)."""
        assert self._session is not None, "start the server first"
        async with self._session.post(f"{self.url}{path}", data=body, headers=dict(headers or {})) as r:
            await r.read()
            return r

    async def get(self, path: str) -> aiohttp.ClientResponse:
        assert self._session is not None, "start the server first"
        async with self._session.get(f"{self.url}{path}") as r:
            await r.read()
            return r

    async def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (SIGKILL after `timeout`); the exit code."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        proc, self.proc = self.proc, None
        code = None
        if proc is not None:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    code = await asyncio.wait_for(proc.wait(), timeout)
                except TimeoutError:
                    proc.kill()
                    code = await proc.wait()
            else:
                code = proc.returncode
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


# -- signing and payloads --------------------------------------------------------------------------


def telegram_headers(secret: str = TELEGRAM_SECRET) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}


def viber_headers(body: bytes, token: str = VIBER_TOKEN) -> dict[str, str]:
    sig = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Viber-Content-Signature": sig, "Content-Type": "application/json"}


def messenger_headers(body: bytes, app_secret: str = MESSENGER_APP_SECRET) -> dict[str, str]:
    sig = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={sig}", "Content-Type": "application/json"}


def dumps(obj: Any) -> bytes:
    """JSON bytes as a platform sends them (compact, UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def telegram_text(update_id: int, chat_id: int, text: str, *, message_id: int | None = None) -> bytes:
    user = {"id": chat_id, "is_bot": False, "first_name": "T"}
    return dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": message_id or update_id,
                "from": user,
                "chat": {"id": chat_id, "type": "private", "first_name": "T"},
                "date": int(time.time()),
                "text": text,
            },
        }
    )


def telegram_callback(update_id: int, chat_id: int, data: str) -> bytes:
    user = {"id": chat_id, "is_bot": False, "first_name": "T"}
    return dumps(
        {
            "update_id": update_id,
            "callback_query": {
                "id": f"cb{update_id}",
                "from": user,
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": 1,
                    "from": {"id": 7012345678, "is_bot": True, "first_name": "Sigurno"},
                    "chat": {"id": chat_id, "type": "private", "first_name": "T"},
                    "date": int(time.time()),
                    "text": "…",
                },
            },
        }
    )


def viber_text(message_token: int, user_id: str, text: str) -> bytes:
    return dumps(
        {
            "event": "message",
            "timestamp": int(time.time() * 1000),
            "message_token": message_token,
            "sender": {"id": user_id, "name": "", "api_version": 10},
            "message": {"type": "text", "text": text},
            "silent": False,
        }
    )


def messenger_text(items: Iterable[tuple[str, str, str]], page_id: str = "100200300") -> bytes:
    """A Messenger body with one entry per (psid, mid, text)."""
    now = int(time.time() * 1000)
    return dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": page_id,
                    "time": now,
                    "messaging": [
                        {
                            "sender": {"id": psid},
                            "recipient": {"id": page_id},
                            "timestamp": now,
                            "message": {"mid": mid, "text": text},
                        }
                    ],
                }
                for psid, mid, text in items
            ],
        }
    )
