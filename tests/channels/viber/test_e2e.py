"""Viber end to end: signed webhooks into a real `sigurno serve`, answers out to a fake Viber API (the harness)."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.channels.viber import PAYLOAD_PREFIX
from tests.channels import harness as h
from tests.channels.viber.conftest import payload
from tests.channels.viber.fakeviber import FakeViber
from tests.conftest import ROOT

_tokens = itertools.count(4_912_661_846_655_300_000)  # 64-bit, above 2**53 like Viber's


def token() -> int:
    return next(_tokens)


def tap(message_token: int, user_id: str, action_body: str) -> bytes:
    """A keyboard tap: Viber sends the button's ActionBody as the text of an ordinary message."""
    return h.viber_text(message_token, user_id, action_body)


def event(name: str, **fields: Any) -> bytes:
    """One of the fixture payloads with some fields replaced (compact JSON, as Viber sends it)."""
    body = json.loads(payload(name))
    body.update(fields)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


async def until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout:g} s")
        await asyncio.sleep(0.1)


def out_messages(db: Path) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (r[0], r[1], r[2])
        for r in rows(
            db, "SELECT platform_message_id, delivery_status, delivery_error FROM messages WHERE direction = 'out'"
        )
    ]


def config_with(tmp_path: Path, **channels: object) -> str:
    """config.yml with some `channels:` values changed (e.g. a short send timeout)."""
    text = (ROOT / "config.yml").read_text(encoding="utf-8")
    for key, value in channels.items():
        lines = text.splitlines()
        lines = [f"  {key}: {value}" if line.strip().startswith(f"{key}:") else line for line in lines]
        text = "\n".join(lines) + "\n"
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


async def test_signed_messages_are_answered_once_and_unsigned_never(tmp_path: Path, nlu_model_path: Path) -> None:
    db = tmp_path / "sigurno.db"
    user, words = "vIbEr-PeRsOn-1==", "здравейте, търся работа"
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("viber",))
        async with h.SigurnoServer(env) as bot:
            # bad or missing signature: 403, nothing taken in, nothing sent
            forged = h.viber_text(token(), "intruder==", "hello")
            for headers in (
                {"Content-Type": "application/json"},
                h.viber_headers(forged, token="0000000000000000-0000000000000000-0000000000000000"),
                h.viber_headers(forged + b" "),
            ):
                assert (await bot.post("/webhooks/viber", forged, headers)).status == 403

            # a good one, delivered twice (Viber retries with the same message_token): one answer
            first = h.viber_text(token(), user, words)
            assert (await bot.post("/webhooks/viber", first, h.viber_headers(first))).status == 200
            assert (await bot.post("/webhooks/viber", first, h.viber_headers(first))).status == 200
            sent = await api.wait_for_sends(2, platform="viber")  # first contact: greeting + language choice
            await asyncio.sleep(0.5)
            assert len(api.sends("viber")) == 2
            assert {s.user for s in sent} == {user}
            for s in sent:
                assert s.headers["X-Viber-Auth-Token"] == h.VIBER_TOKEN
                assert "auth_token" not in s.body and h.VIBER_TOKEN not in json.dumps(s.body)
                assert s.body["sender"]["name"] == "Sigurno"
            keyboard = sent[-1].body["keyboard"]
            assert keyboard["Type"] == "keyboard"
            bodies = [b["ActionBody"] for b in keyboard["Buttons"]]
            assert all(b.startswith(PAYLOAD_PREFIX) for b in bodies)

            # tapping a button comes back as text == ActionBody and is understood as that button
            lang = next(b for b in bodies if b.endswith("lang:bg"))
            tapped = tap(token(), user, lang)
            assert (await bot.post("/webhooks/viber", tapped, h.viber_headers(tapped))).status == 200
            after_tap = await api.wait_for_sends(3, platform="viber")
            assert "keyboard" in after_tap[-1].body  # the menu, with its buttons

            # delivered then seen for our first message; failed for the second: recorded on those messages
            await until(lambda: len([m for m in out_messages(db) if m[0]]) >= 3, what="sent messages stored")
            ids = [m[0] for m in out_messages(db) if m[0]]
            assert all(i is not None and i.isdigit() and int(i) > 2**53 for i in ids)  # exact 64-bit tokens
            receipts = [
                event("delivered", message_token=int(ids[0]), user_id=user),
                event("seen", message_token=int(ids[0]), user_id=user),
                event("failed", message_token=int(ids[1]), user_id=user, desc="receiver device is offline"),
            ]
            for body in receipts:
                assert (await bot.post("/webhooks/viber", body, h.viber_headers(body))).status == 200

            def receipts_recorded() -> bool:
                by_id = {m[0]: m for m in out_messages(db)}
                return by_id[ids[0]][1] == "seen" and by_id[ids[1]][1:] == ("failed", "receiver device is offline")

            await until(receipts_recorded, what="delivered/seen/failed recorded")

            # subscribed / unsubscribed / the webhook check: acknowledged, nothing sent
            before = len(api.sends("viber"))
            for body in (
                event("subscribed", message_token=token()),
                event("unsubscribed", message_token=token()),
                event("webhook", message_token=token()),
            ):
                assert (await bot.post("/webhooks/viber", body, h.viber_headers(body))).status == 200
            await asyncio.sleep(0.5)
            assert len(api.sends("viber")) == before
            # a body that is not Viber's, even correctly signed: refused without a 200 (nothing to retry into)
            junk = b'{"not":"viber"}'
            assert (await bot.post("/webhooks/viber", junk, h.viber_headers(junk))).status == 400
        logs = bot.logs()
    assert not [s for s in api.sends() if s.user == "intruder=="]
    for secret in (*h.SECRETS, user, "intruder==", words, "receiver device is offline"):
        assert secret not in logs, secret


async def test_conversation_started_is_answered_in_the_http_response(tmp_path: Path, nlu_model_path: Path) -> None:
    user = "vIbEr-NeW-PeRsOn=="
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("viber",))
        async with h.SigurnoServer(env) as bot:
            body = event("conversation_started", message_token=token(), user={"id": user, "name": "", "api_version": 9})
            r = await bot.post("/webhooks/viber", body, h.viber_headers(body))
            assert r.status == 200
            welcome = await r.json()
            again = await bot.post("/webhooks/viber", body, h.viber_headers(body))  # Viber's retry
            assert again.status == 200
        logs = bot.logs()
    # exactly one welcome message, in the response body: send_message's JSON without a receiver
    assert set(welcome) >= {"sender", "type", "text", "keyboard"}
    assert "receiver" not in welcome
    assert welcome["type"] == "text" and welcome["text"].strip()
    assert welcome["sender"]["name"] == "Sigurno"
    assert all(b["ActionBody"].startswith(PAYLOAD_PREFIX) for b in welcome["keyboard"]["Buttons"])
    assert api.sends("viber") == []  # nothing through send_message: the person is not subscribed yet
    assert await again.json() == {}  # the retry is not welcomed twice
    assert user not in logs and h.VIBER_TOKEN not in logs


async def test_twenty_people_at_once_get_twenty_answers(tmp_path: Path, nlu_model_path: Path) -> None:
    people = [f"vIbEr-{n:02d}-PeRsOn==" for n in range(20)]
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("viber",))
        async with h.SigurnoServer(env) as bot:
            bodies = [h.viber_text(token(), p, "здравейте") for p in people]
            answers = await asyncio.gather(*(bot.post("/webhooks/viber", b, h.viber_headers(b)) for b in bodies))
            assert [a.status for a in answers] == [200] * 20
            await api.wait_for_sends(40, platform="viber", timeout=30)
    for p in people:
        mine = api.sends("viber", user=p)
        assert len(mine) == 2, p  # greeting + language choice, once each
        assert "keyboard" in mine[-1].body
    assert len(api.sends("viber")) == 40


async def test_a_failing_or_hanging_viber_api_costs_only_its_own_sends(tmp_path: Path, nlu_model_path: Path) -> None:
    db = tmp_path / "sigurno.db"
    broken, stuck = "vIbEr-BrOkEn==", "vIbEr-StUcK=="
    others = [f"vIbEr-OtHeR-{n}==" for n in range(5)]
    async with h.FakePlatform() as api:
        api.behave("fail", user=broken, platform="viber")  # HTTP 500 for this person
        api.behave("hang", user=stuck, platform="viber")  # never answers for this one
        env = h.server_env(
            tmp_path,
            nlu_model_path,
            api.url,
            channels=("viber",),
            extra={"SIGURNO_CONFIG": config_with(tmp_path, send_timeout_seconds=4)},
        )
        async with h.SigurnoServer(env) as bot:
            for p in (stuck, broken, *others):
                body = h.viber_text(token(), p, "здравейте")
                assert (await bot.post("/webhooks/viber", body, h.viber_headers(body))).status == 200
            started = time.monotonic()
            for p in others:
                await api.wait_for_sends(2, platform="viber", user=p, timeout=20)
            # everyone else was answered while the stuck send still hangs (its timeout has not run out)
            assert time.monotonic() - started < 4
            assert not [m for m in out_messages(db) if m[1] == "failed" and "no answer" in (m[2] or "")]

            def failures_recorded() -> bool:
                errors = [m[2] or "" for m in out_messages(db) if m[1] == "failed"]
                return any("HTTP 500" in e for e in errors) and any("no answer within 4 s" in e for e in errors)

            await until(failures_recorded, timeout=20, what="the failed and the timed-out send recorded")
            api.release()  # the stuck person's next reply goes through: no waiting at shutdown
        logs = bot.logs()
    assert h.VIBER_TOKEN not in logs and broken not in logs and stuck not in logs


async def test_set_webhook_command_registers_viber_without_names_or_photos(
    tmp_path: Path, nlu_model_path: Path
) -> None:
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("viber",))
        sigurno = h.SIGURNO if h.SIGURNO.exists() else Path(sys.executable)
        args = [] if h.SIGURNO.exists() else ["-m", "bot.cli"]
        proc = await asyncio.create_subprocess_exec(
            str(sigurno),
            *args,
            "channels",
            "set-webhook",
            "--public-url",
            "https://sigurno.example.org/",
            cwd=str(ROOT),
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    calls = api.calls("set_webhook")
    assert len(calls) == 1
    assert calls[0].headers["X-Viber-Auth-Token"] == h.VIBER_TOKEN
    assert calls[0].body == {
        "url": "https://sigurno.example.org/webhooks/viber",
        "event_types": ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"],
        "send_name": False,
        "send_photo": False,
    }
    assert h.VIBER_TOKEN not in text


async def test_set_webhook_command_says_when_viber_refuses(tmp_path: Path, nlu_model_path: Path) -> None:
    """A refused webhook: a clear message, a non-zero exit, no token."""
    async with FakeViber(h.VIBER_TOKEN, webhook_status=1) as viber:
        env = h.server_env(tmp_path, nlu_model_path, viber.url, channels=("viber",))
        sigurno = h.SIGURNO if h.SIGURNO.exists() else Path(sys.executable)
        args = [] if h.SIGURNO.exists() else ["-m", "bot.cli"]
        proc = await asyncio.create_subprocess_exec(
            str(sigurno),
            *args,
            "channels",
            "set-webhook",
            "--public-url",
            "https://sigurno.example.org",
            cwd=str(ROOT),
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode(errors="replace")
    assert proc.returncode != 0
    assert len(viber.requests) == 1
    assert "did not accept the webhook https://sigurno.example.org/webhooks/viber" in text
    assert "status 1 (invalidUrl)" in text
    assert h.VIBER_TOKEN not in text
