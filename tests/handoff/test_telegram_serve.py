"""End to end through `sigurno serve` (a real subprocess) with the fake Telegram API: an urgent message on
Telegram -> a queued case -> a mediator (made with `sigurno users add`) claims it through the console API ->
the bot is silent and the person's messages reach the mediator -> the mediator's reply reaches the
person's Telegram chat -> release -> the bot answers again."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.channels import harness as h

from .conftest import PASSWORD

CHAT = 5550123
URGENT = "help, they took our passports and lock us in the house in germany"


async def users_add(env: dict[str, str], name: str, role: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        str(h.SIGURNO),
        "users",
        "add",
        name,
        "--role",
        role,
        "--password-stdin",
        cwd=str(h.ROOT),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"), **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate(PASSWORD.encode() + b"\n")
    assert proc.returncode == 0, out.decode()
    assert f"added {role} {name}" in out.decode()


async def eventually(fn: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


async def test_telegram_takeover_through_sigurno_serve(tmp_path: Path, nlu_model_path: Path) -> None:
    update = iter(range(1, 1000))
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("telegram",))
        await users_add(env, "mira", "mediator")
        async with (
            h.SigurnoServer(env) as bot,
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
        ):

            async def person(text: str) -> None:
                r = await bot.post(
                    "/webhooks/telegram", h.telegram_text(next(update), CHAT, text), h.telegram_headers()
                )
                assert r.status == 200

            async def sends() -> list[str]:
                return [s.text for s in api.sends("telegram", user=CHAT)]

            async def console(method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
                headers = {"X-CSRF-Token": csrf} if method == "POST" else {}
                async with http.request(method, f"{bot.url}{path}", json=body, headers=headers) as r:
                    return r.status, await r.json()

            await person("/start")
            await eventually(sends)
            await person(URGENT)
            await eventually(lambda: _has(sends, "112"))

            async with http.post(f"{bot.url}/api/console/login", json={"username": "mira", "password": PASSWORD}) as r:
                assert r.status == 200
                csrf = (await r.json())["csrf"]
            _, queue = await console("GET", "/api/console/cases?status=queued")
            (case,) = queue["cases"]
            assert (case["channel"], case["priority"], case["reply_window_open"]) == ("telegram", "urgent", True)
            assert str(CHAT) not in str(queue)
            case_id = case["id"]

            before = len(await sends())
            status, _ = await console("POST", f"/api/console/cases/{case_id}/claim")
            assert status == 200
            started = await eventually(lambda: _after(sends, before))
            assert len(started) == 1  # handoff_started, and nothing else

            await person("is someone there?")
            await asyncio.sleep(1.0)
            assert len(await sends()) == before + 1  # the bot said nothing
            _, detail = await console("GET", f"/api/console/cases/{case_id}")
            assert detail["messages"][-1]["text"] == "is someone there?"
            assert URGENT in [m["text"] for m in detail["messages"]]

            status, sent = await console(
                "POST", f"/api/console/cases/{case_id}/messages", {"text": "Yes. I am Mira, a mediator."}
            )
            assert status == 200 and sent["message"]["delivery_status"] == "sent"
            assert (await sends())[-1] == "Yes. I am Mira, a mediator."

            status, _ = await console("POST", f"/api/console/cases/{case_id}/release")
            assert status == 200
            await eventually(lambda: _after(sends, before + 2))  # handoff_ended
            count = len(await sends())
            await person("what is the hotline in germany?")
            await eventually(lambda: _after(sends, count))  # the bot answers again

        logs = bot.logs()
        for secret in (h.TELEGRAM_TOKEN, "Mira, a mediator", "is someone there", str(CHAT)):
            assert secret not in logs


async def _has(sends: Any, needle: str) -> bool:
    return any(needle in s for s in await sends())


async def _after(sends: Any, count: int) -> list[str]:
    got: list[str] = await sends()
    return got[count:]
