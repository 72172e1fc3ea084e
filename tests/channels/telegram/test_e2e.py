"""Telegram end to end: updates with the secret-token header into a real `sigurno serve`, answers out to a
fake Bot API on loopback (the shared harness, or this package's FakeTelegramApi for Bot API error shapes)."""

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

from tests.channels import harness as h
from tests.channels.telegram.conftest import payload
from tests.channels.telegram.fakeapi import FakeTelegramApi
from tests.conftest import ROOT

_updates = itertools.count(736_300_000)
_people = itertools.count(611_000_001)


def update_id() -> int:
    return next(_updates)


def person() -> int:
    return next(_people)


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def out_messages(db: Path) -> list[tuple[str | None, str | None, str | None]]:
    return [
        (r[0], r[1], r[2])
        for r in rows(
            db, "SELECT platform_message_id, delivery_status, delivery_error FROM messages WHERE direction = 'out'"
        )
    ]


async def until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout:g} s")
        await asyncio.sleep(0.1)


def config_with(tmp_path: Path, **channels: object) -> str:
    """config.yml with some `channels:` values changed (e.g. a short send timeout)."""
    lines = (ROOT / "config.yml").read_text(encoding="utf-8").splitlines()
    for key, value in channels.items():
        lines = [f"  {key}: {value}" if line.strip().startswith(f"{key}:") else line for line in lines]
    path = tmp_path / "config.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def assert_clean(logs: str, *private: str) -> None:
    for value in (*h.SECRETS, h.TELEGRAM_TOKEN.split(":")[1], *private):
        assert value not in logs, value


def assert_bot_api_send(body: dict[str, Any], chat: int) -> None:
    """A sendMessage body as the Bot API takes it: our chat, plain text within the limit, a valid keyboard."""
    assert body["chat_id"] == chat
    assert isinstance(body["text"], str) and 0 < len(body["text"].encode("utf-16-le")) // 2 <= 4096
    assert "parse_mode" not in body  # user-facing text is never parsed as markup
    if "reply_markup" in body:
        rows_ = body["reply_markup"]["inline_keyboard"]
        assert rows_ and all(1 <= len(r) <= 2 for r in rows_)
        for button in (b for r in rows_ for b in r):
            assert set(button) == {"text", "callback_data"}
            assert button["text"] and 1 <= len(button["callback_data"].encode("utf-8")) <= 64


async def test_updates_with_the_secret_are_answered_once_and_others_never(tmp_path: Path, nlu_model_path: Path) -> None:
    chat = person()
    words = "здравейте, търся работа в Германия"
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("telegram",))
        async with h.SigurnoServer(env) as bot:
            # bad or missing secret: 403, nothing taken in, nothing sent
            forged = h.telegram_text(update_id(), 666, "hello")
            for headers in (
                {"Content-Type": "application/json"},
                h.telegram_headers("wrong-secret"),
                h.telegram_headers(h.TELEGRAM_SECRET.upper()),
                h.telegram_headers(h.TELEGRAM_SECRET + "x"),
                h.telegram_headers(""),
            ):
                assert (await bot.post("/webhooks/telegram", forged, headers)).status == 403

            # /start, delivered twice (Telegram retries with the same update_id): one answer
            start = h.telegram_text(update_id(), chat, "/start")
            assert (await bot.post("/webhooks/telegram", start, h.telegram_headers())).status == 200
            assert (await bot.post("/webhooks/telegram", start, h.telegram_headers())).status == 200
            sent = await api.wait_for_sends(2, platform="telegram")  # first contact: greeting + language choice
            await asyncio.sleep(0.5)  # a second answer to the retry would come now (nothing else can show it)
            assert len(api.sends("telegram")) == 2
            for s in sent:
                assert s.path == f"/bot{h.TELEGRAM_TOKEN}/sendMessage"
                assert s.headers["Content-Type"].startswith("application/json")
                assert_bot_api_send(s.body, chat)
            assert "reply_markup" in sent[-1].body  # the language choice has its buttons

            # the person writes: one answer more, for them
            text = h.telegram_text(update_id(), chat, words)
            assert (await bot.post("/webhooks/telegram", text, h.telegram_headers())).status == 200
            after = await api.wait_for_sends(3, platform="telegram")
            assert_bot_api_send(after[-1].body, chat)

            # a body that is not an update, even with the right secret: 400, nothing to retry into
            assert (await bot.post("/webhooks/telegram", b'{"not": "telegram"}', h.telegram_headers())).status == 400
        logs = bot.logs()
    assert not api.sends(user=666)
    assert [r.method for r in api.requests] == ["sendMessage"] * len(api.requests)
    assert_clean(logs, str(chat), words, "666")


async def test_real_update_shapes(tmp_path: Path, nlu_model_path: Path) -> None:
    """The fixtures as Telegram sends them: private messages and media are answered; groups, edits and
    channel posts are acknowledged with 200 and never answered."""
    chat = 521934877  # the person in the fixtures
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("telegram",))
        async with h.SigurnoServer(env) as bot:
            for name in ("group_message", "edited_message", "channel_post", "callback_query_group"):
                assert (await bot.post("/webhooks/telegram", payload(name), h.telegram_headers())).status == 200
            await asyncio.sleep(1.0)  # an answer to an ignored shape would come now (nothing else can show it)
            assert api.requests == []
            for name in ("start_command", "text_message", "photo", "voice", "sticker"):
                before = len(api.sends("telegram"))
                assert (await bot.post("/webhooks/telegram", payload(name), h.telegram_headers())).status == 200
                await api.wait_for_sends(before + 1, platform="telegram")  # each one is answered
                await asyncio.sleep(0.3)  # the rest of a several-part answer, before the next count
        logs = bot.logs()  # stopping the server (above) finished whatever it had taken in
    sends = api.sends("telegram")
    assert sends and all(s.user == str(chat) for s in sends)
    for s in sends:
        assert_bot_api_send(s.body, chat)
    assert_clean(logs, str(chat), "Здравейте, търся работа", "Мария")


async def test_button_tap_is_answered_and_its_spinner_stopped(tmp_path: Path, nlu_model_path: Path) -> None:
    chat = person()
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("telegram",))
        async with h.SigurnoServer(env) as bot:
            start = h.telegram_text(update_id(), chat, "/start")
            assert (await bot.post("/webhooks/telegram", start, h.telegram_headers())).status == 200
            first = await api.wait_for_sends(2, platform="telegram")
            buttons = [b for r in first[-1].body["reply_markup"]["inline_keyboard"] for b in r]
            lang = next(b["callback_data"] for b in buttons if b["callback_data"] == "lang:bg")

            tap_id = update_id()
            tap = h.telegram_callback(tap_id, chat, lang)
            assert (await bot.post("/webhooks/telegram", tap, h.telegram_headers())).status == 200
            assert (await bot.post("/webhooks/telegram", tap, h.telegram_headers())).status == 200  # retry
            await api.wait_for(lambda _: len(api.calls("answerCallbackQuery")) >= 1)
            after = await api.wait_for_sends(3, platform="telegram")
        logs = bot.logs()
    [ack] = api.calls("answerCallbackQuery")  # once, though the tap came twice
    assert ack.body == {"callback_query_id": f"cb{tap_id}"}
    assert ack.path == f"/bot{h.TELEGRAM_TOKEN}/answerCallbackQuery"
    taps_answer = api.sends("telegram")[2:]
    assert taps_answer and ack.at <= taps_answer[0].at  # the spinner stops before the answer is worked out
    assert_bot_api_send(after[-1].body, chat)
    assert "reply_markup" in after[-1].body  # the menu, with its buttons
    assert_clean(logs, str(chat), f"cb{tap_id}")


async def test_twenty_people_at_once_get_twenty_answers(tmp_path: Path, nlu_model_path: Path) -> None:
    people = [person() for _ in range(20)]
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("telegram",))
        async with h.SigurnoServer(env) as bot:
            bodies = [h.telegram_text(update_id(), p, "/start") for p in people]
            answers = await asyncio.gather(*(bot.post("/webhooks/telegram", b, h.telegram_headers()) for b in bodies))
            assert [a.status for a in answers] == [200] * 20
            await api.wait_for_sends(40, platform="telegram", timeout=30)
        logs = bot.logs()
    assert len(api.sends("telegram")) == 40
    reference = [s.body["text"] for s in api.sends("telegram", user=people[0])]
    for p in people:
        mine = api.sends("telegram", user=p)
        assert [s.body["text"] for s in mine] == reference, p  # greeting then language choice, once each
        assert "reply_markup" in mine[-1].body
        for s in mine:
            assert_bot_api_send(s.body, p)
    assert_clean(logs, *(str(p) for p in people))


async def test_a_failing_or_hanging_bot_api_costs_only_its_own_sends(tmp_path: Path, nlu_model_path: Path) -> None:
    db = tmp_path / "sigurno.db"
    broken, stuck = person(), person()
    others = [person() for _ in range(5)]
    async with h.FakePlatform() as api:
        api.behave("fail", user=broken, platform="telegram")  # HTTP 500 for this person
        api.behave("hang", user=stuck, platform="telegram")  # never answers for this one
        env = h.server_env(
            tmp_path,
            nlu_model_path,
            api.url,
            channels=("telegram",),
            extra={"SIGURNO_CONFIG": config_with(tmp_path, send_timeout_seconds=3)},
        )
        async with h.SigurnoServer(env) as bot:
            for p in (stuck, broken, *others):
                body = h.telegram_text(update_id(), p, "/start")
                assert (await bot.post("/webhooks/telegram", body, h.telegram_headers())).status == 200
            started = time.monotonic()
            for p in others:
                await api.wait_for_sends(2, platform="telegram", user=p, timeout=20)
            assert time.monotonic() - started < 3  # everyone else answered while the stuck send still hangs

            def failures_recorded() -> bool:
                errors = [m[2] or "" for m in out_messages(db) if m[1] == "failed"]
                return any("(500)" in e for e in errors) and any("timed out after 3s" in e for e in errors)

            await until(failures_recorded, timeout=20, what="the failed and the timed-out send recorded")
            # the bot still serves after the failures
            late = person()
            body = h.telegram_text(update_id(), late, "/start")
            assert (await bot.post("/webhooks/telegram", body, h.telegram_headers())).status == 200
            await api.wait_for_sends(2, platform="telegram", user=late, timeout=10)
        logs = bot.logs()
    assert_clean(logs, str(broken), str(stuck), *(str(p) for p in others))


async def test_a_person_who_blocked_the_bot_is_a_permanent_failure(tmp_path: Path, nlu_model_path: Path) -> None:
    db = tmp_path / "sigurno.db"
    blocked, fine = person(), person()
    fake = FakeTelegramApi(h.TELEGRAM_TOKEN)
    fake.by_chat[blocked] = "blocked"
    await fake.start()
    try:
        env = h.server_env(tmp_path, nlu_model_path, fake.url, channels=("telegram",))
        async with h.SigurnoServer(env) as bot:
            for p in (blocked, fine):
                body = h.telegram_text(update_id(), p, "/start")
                assert (await bot.post("/webhooks/telegram", body, h.telegram_headers())).status == 200
            await fake.wait_for("sendMessage", 3)

            def recorded() -> bool:
                return len([m for m in out_messages(db) if m[1] == "failed"]) >= 2

            await until(recorded, what="both replies to the blocked person recorded as failed")
        logs = bot.logs()
    finally:
        await fake.close()
    assert len(fake.sent_to(fine)) == 2
    assert len(fake.sent_to(blocked)) == 1  # after a permanent refusal the turn's next reply is not tried
    failed = [m for m in out_messages(db) if m[1] == "failed"]
    assert any("bot was blocked by the user" in (m[2] or "") for m in failed)
    assert_clean(logs, str(blocked), str(fine))


async def _set_webhook(tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
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
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def test_set_webhook_command_registers_the_secret_and_update_types(tmp_path: Path, nlu_model_path: Path) -> None:
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("telegram",))
        code, text = await _set_webhook(tmp_path, env)
    assert code == 0, text
    [call] = api.calls("setWebhook")
    assert call.path == f"/bot{h.TELEGRAM_TOKEN}/setWebhook"
    assert call.body == {
        "url": "https://sigurno.example.org/webhooks/telegram",
        "secret_token": h.TELEGRAM_SECRET,
        "allowed_updates": ["message", "callback_query"],
        "drop_pending_updates": False,
    }
    assert_clean(text)


async def test_set_webhook_command_says_when_telegram_refuses(tmp_path: Path, nlu_model_path: Path) -> None:
    fake = FakeTelegramApi(h.TELEGRAM_TOKEN)
    fake.default = "error500"
    await fake.start()
    try:
        env = h.server_env(tmp_path, nlu_model_path, fake.url, channels=("telegram",))
        code, text = await _set_webhook(tmp_path, env)
    finally:
        await fake.close()
    assert code != 0
    assert "setWebhook refused (500)" in text
    assert json.dumps(fake.of("setWebhook")[0].body)  # it was asked
    assert_clean(text)
