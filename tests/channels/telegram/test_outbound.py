"""send / acknowledge / set_webhook against the fake Bot API, failures, and the token staying secret."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardMarkup, Message

from bot.channels.base import Inbound, SendError
from bot.channels.telegram import TelegramChannel, TelegramSendError, keyboard, split_text, utf16_len
from dialogues.types import Button, Event, Reply
from tests.channels.telegram.conftest import SECRET, TOKEN
from tests.channels.telegram.fakeapi import FakeTelegramApi

PERSON = "521934877"


def secret_free(exc: BaseException) -> str:
    """Everything a log line could show of an exception: message, repr and the printed traceback."""
    text = f"{exc}\n{exc!r}\n" + "".join(traceback.format_exception(exc))
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert SECRET not in text
    return text


# ---- send --------------------------------------------------------------------------------------


async def test_send_text(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    ids = await channel.send(PERSON, Reply("Здравейте! Как да помогна?"))
    [call] = fake_api.calls
    assert call.method == "sendMessage" and call.token == TOKEN
    assert call.body == {"chat_id": 521934877, "text": "Здравейте! Как да помогна?"}
    assert ids == ["1001"]


async def test_send_keyboard(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    reply = Reply("Искате ли медиатор?", (Button("Да", "mediator:yes"), Button("Не", "mediator:no")))
    assert await channel.send(PERSON, reply) == ["1001"]
    body = fake_api.of("sendMessage")[0].body
    assert body["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Да", "callback_data": "mediator:yes"}, {"text": "Не", "callback_data": "mediator:no"}]
        ]
    }
    assert "disable_notification" not in body
    # what we sent is a valid keyboard for PTB too
    assert InlineKeyboardMarkup.de_json(body["reply_markup"]) == keyboard(reply.buttons)


async def test_send_eight_long_buttons_one_per_row(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    buttons = tuple(Button(f"Проверка на обява за работа {i}", f"topic:{'ж' * 28}{i}") for i in range(8))
    await channel.send(PERSON, Reply("Изберете тема:", buttons))
    rows = fake_api.of("sendMessage")[0].body["reply_markup"]["inline_keyboard"]
    assert [len(r) for r in rows] == [1] * 8
    for row in rows:
        for b in row:
            assert 1 <= len(b["callback_data"].encode("utf-8")) <= 64
            assert len(b["text"]) <= 40


async def test_send_short_buttons_two_per_row(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    buttons = tuple(Button(t, f"lang:{t}") for t in ("Български", "Romanes", "English", "Deutsch", "Türkçe"))
    await channel.send(PERSON, Reply("Език?", buttons))
    rows = fake_api.of("sendMessage")[0].body["reply_markup"]["inline_keyboard"]
    assert [len(r) for r in rows] == [2, 2, 1]
    assert [b["callback_data"] for r in rows for b in r] == [b.payload for b in buttons]


async def test_send_defends_against_unfit_buttons(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    buttons = (
        Button("Много дълго заглавие на бутон, което не се събира в реда", "menu"),
        Button("Твърде дълъг", "x" * 65),  # Telegram would refuse the whole message: left out
        Button("Празно", ""),
        Button("   ", "menu:x"),
        Button("Ок", "я" * 32),  # exactly 64 bytes
    )
    await channel.send(PERSON, Reply("Меню", buttons))
    rows = fake_api.of("sendMessage")[0].body["reply_markup"]["inline_keyboard"]
    flat = [b for r in rows for b in r]
    assert [b["callback_data"] for b in flat] == ["menu", "я" * 32]
    assert len(flat[0]["text"]) == 40 and flat[0]["text"].endswith("…")


async def test_send_sensitive_is_silent(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    await channel.send(PERSON, Reply("Телефон за помощ: 0800 20 100", sensitive=True))
    assert fake_api.of("sendMessage")[0].body["disable_notification"] is True


async def test_send_long_text_is_split(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    paragraphs = ["Абзац " + str(i) + ": " + "дума " * 300 for i in range(8)]  # ~12 000 characters
    reply = Reply("\n\n".join(paragraphs), (Button("Меню", "menu"),), sensitive=True)
    ids = await channel.send(PERSON, reply)
    calls = fake_api.of("sendMessage")
    assert len(ids) == len(calls) >= 3 and len(set(ids)) == len(ids)
    for c in calls:
        assert utf16_len(c.body["text"]) <= 4096 and c.body["disable_notification"] is True
    assert [("reply_markup" in c.body) for c in calls] == [False] * (len(calls) - 1) + [True]
    # nothing lost, cut at paragraph boundaries
    assert " ".join(" ".join(c.body["text"].split()) for c in calls) == " ".join(reply.text.split())
    assert all(c.body["text"].startswith("Абзац") for c in calls)


async def test_send_counts_emoji_as_telegram_does(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    text = "🙂" * 3000  # 3000 characters but 6000 UTF-16 units
    await channel.send(PERSON, Reply(text))
    calls = fake_api.of("sendMessage")
    assert len(calls) == 2 and "".join(c.body["text"] for c in calls) == text


async def test_send_rejects_what_is_not_a_chat_id(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    for bad in ("", "@channel", "12ab", "1/../getMe"):
        with pytest.raises(SendError) as info:
            await channel.send(bad, Reply("x"))
        assert info.value.permanent
    assert fake_api.calls == []


async def test_send_empty_reply_sends_nothing(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    assert await channel.send(PERSON, Reply("  \n ")) == []
    assert fake_api.calls == []


async def test_send_buttons_without_text(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    assert await channel.send(PERSON, Reply("", (Button("Меню", "menu"),))) == ["1001"]
    body = fake_api.of("sendMessage")[0].body
    assert body["text"].strip() and body["reply_markup"]["inline_keyboard"] == [
        [{"text": "Меню", "callback_data": "menu"}]
    ]


async def test_split_send_failing_midway_reports_what_was_sent(
    channel: TelegramChannel, fake_api: FakeTelegramApi
) -> None:
    fake_api.script = ["ok", "error500"]
    with pytest.raises(TelegramSendError) as info:
        await channel.send(PERSON, Reply("дума " * 1500))  # two parts
    assert info.value.sent == ("1001",) and not info.value.permanent


async def test_sends_to_many_people_at_once(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    people = [str(100000 + i) for i in range(50)]
    results = await asyncio.gather(*(channel.send(p, Reply(f"здравей {p}")) for p in people))
    assert len({i for ids in results for i in ids}) == 50
    for p in people:
        [call] = fake_api.sent_to(p)
        assert call.body["text"] == f"здравей {p}"


# ---- failures ----------------------------------------------------------------------------------


async def test_blocked_is_permanent(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    fake_api.default = "blocked"
    with pytest.raises(SendError) as info:
        await channel.send(PERSON, Reply("здравей"))
    assert info.value.permanent
    assert isinstance(info.value, TelegramSendError) and info.value.status == 403
    assert "bot was blocked by the user" in secret_free(info.value)
    assert PERSON not in str(info.value)


async def test_chat_not_found_is_permanent(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    fake_api.default = "chat_not_found"
    with pytest.raises(SendError) as info:
        await channel.send(PERSON, Reply("здравей"))
    assert info.value.permanent and "chat not found" in secret_free(info.value)


@pytest.mark.parametrize("behaviour", ["error500", "bad_gateway", "unauthorized", "flood_long"])
async def test_server_errors_are_not_permanent(
    channel: TelegramChannel, fake_api: FakeTelegramApi, behaviour: str
) -> None:
    fake_api.default = behaviour
    with pytest.raises(SendError) as info:
        await channel.send(PERSON, Reply("здравей"))
    assert not info.value.permanent
    secret_free(info.value)


async def test_flood_long_reports_retry_after(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    fake_api.default = "flood_long"
    with pytest.raises(TelegramSendError) as info:
        await channel.send(PERSON, Reply("здравей"))
    assert info.value.status == 429 and info.value.retry_after == 30
    assert len(fake_api.calls) == 1  # a long pause is not waited out here


async def test_short_flood_pause_is_waited_out(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    fake_api.default = "flood"
    assert await channel.send(PERSON, Reply("здравей")) == ["1001"]
    first, second = fake_api.of("sendMessage")
    assert second.at - first.at >= fake_api.flood_retry_after * 0.9


async def test_hang_fails_within_the_timeout(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    fake_api.default = "hang"
    started = time.monotonic()
    with pytest.raises(SendError) as info:
        await channel.send(PERSON, Reply("здравей"))
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3.0  # the channel's timeout is 1 s
    assert "timed out" in secret_free(info.value) and not info.value.permanent


async def test_one_hanging_chat_does_not_hold_up_others(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    fake_api.by_chat[111111] = "hang"
    hanging = asyncio.create_task(channel.send("111111", Reply("a")))
    started = time.monotonic()
    assert await channel.send(PERSON, Reply("b")) == ["1001"]
    assert time.monotonic() - started < 0.5
    with pytest.raises(SendError):
        await hanging


async def test_unreachable_api(session: aiohttp.ClientSession) -> None:
    ch = TelegramChannel(TOKEN, SECRET, "http://127.0.0.1:9", session, timeout=2.0)
    with pytest.raises(SendError) as info:
        await ch.send(PERSON, Reply("здравей"))
    assert "failed" in secret_free(info.value) and not info.value.permanent


async def test_token_never_in_exception_or_log(
    channel: TelegramChannel, fake_api: FakeTelegramApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for behaviour in ("blocked", "chat_not_found", "error500", "bad_gateway", "hang", "flood_long"):
        fake_api.default = behaviour
        with pytest.raises(SendError) as info:
            await channel.send(PERSON, Reply("здравей"))
        secret_free(info.value)
        await channel.acknowledge(Inbound("telegram", "message", callback_id="2241554307432954881"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in logged and SECRET not in logged
    assert TOKEN not in repr(channel) and SECRET not in repr(channel)


async def test_bad_token_shape_is_refused_without_echo(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError) as info:
        TelegramChannel("123:abc/../x", SECRET, "https://api.telegram.org", session)
    assert "abc" not in str(info.value)
    with pytest.raises(ValueError):
        TelegramChannel("", SECRET, "https://api.telegram.org", session)


# ---- acknowledge -------------------------------------------------------------------------------


async def test_acknowledge_answers_the_callback(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    inbound = Inbound(
        "telegram", "message", user_id=PERSON, event=Event("payload", payload="menu"), callback_id="224155"
    )
    await channel.acknowledge(inbound)
    [call] = fake_api.calls
    assert call.method == "answerCallbackQuery" and call.body == {"callback_query_id": "224155"}


async def test_acknowledge_without_callback_does_nothing(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    await channel.acknowledge(Inbound("telegram", "message", user_id=PERSON, event=Event("text", text="hi")))
    assert fake_api.calls == []


@pytest.mark.parametrize("behaviour", ["error500", "hang"])
async def test_acknowledge_failure_is_logged_not_raised(
    channel: TelegramChannel, fake_api: FakeTelegramApi, caplog: pytest.LogCaptureFixture, behaviour: str
) -> None:
    fake_api.default = behaviour
    started = time.monotonic()
    await channel.acknowledge(Inbound("telegram", "message", user_id=PERSON, callback_id="2241554307432954881"))
    assert time.monotonic() - started < 2.0  # ack timeout 0.5 s
    [record] = [r for r in caplog.records if r.name == "bot.channels.telegram"]
    message = record.getMessage()
    assert "callback" in message
    assert "2241554307432954881" not in message and PERSON not in message and TOKEN not in message


# ---- set_webhook -------------------------------------------------------------------------------


async def test_set_webhook(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    await channel.set_webhook("https://sigurno.example.org/")
    [call] = fake_api.calls
    assert call.method == "setWebhook"
    assert call.body == {
        "url": "https://sigurno.example.org/webhooks/telegram",
        "secret_token": SECRET,
        "allowed_updates": ["message", "callback_query"],
        "drop_pending_updates": False,
    }


async def test_set_webhook_refused(channel: TelegramChannel, fake_api: FakeTelegramApi) -> None:
    fake_api.default = "error500"
    with pytest.raises(SendError) as info:
        await channel.set_webhook("https://sigurno.example.org")
    assert "setWebhook" in secret_free(info.value)


@pytest.mark.parametrize("secret", ["", "has space", "ü" * 3, "x" * 257])
async def test_set_webhook_needs_a_valid_secret(
    fake_api: FakeTelegramApi, session: aiohttp.ClientSession, secret: str
) -> None:
    ch = TelegramChannel(TOKEN, secret, fake_api.url, session)
    with pytest.raises(ValueError, match="SIGURNO_TELEGRAM_SECRET") as info:
        await ch.set_webhook("https://sigurno.example.org")
    assert (secret or "\0") not in str(info.value)
    assert fake_api.calls == []


# ---- the fake answers like the real Bot API ------------------------------------------------------


async def test_fake_api_speaks_the_bot_api_to_ptb(fake_api: FakeTelegramApi) -> None:
    """PTB's own Bot parses the fake's answers (so our fake is not only fitted to our own client)."""
    async with Bot(TOKEN, base_url=f"{fake_api.url}/bot") as bot:
        message = await bot.send_message(521934877, "здравей", reply_markup=keyboard([Button("Меню", "menu")]))
        assert isinstance(message, Message) and message.text == "здравей"
        assert message.reply_markup is not None
        assert await bot.answer_callback_query("224155") is True
    assert [c.method for c in fake_api.calls] == ["getMe", "sendMessage", "answerCallbackQuery"]


# ---- pure helpers ------------------------------------------------------------------------------


def test_split_text_short_and_empty() -> None:
    assert split_text("здравей", 4096) == ["здравей"]
    assert split_text("  \n", 4096) == []


def test_split_text_without_spaces_cuts_hard() -> None:
    parts = split_text("a" * 10, 4)
    assert parts == ["aaaa", "aaaa", "aa"]


def test_split_text_prefers_paragraphs_then_lines() -> None:
    assert split_text("one two\n\nthree four", 12) == ["one two", "three four"]
    assert split_text("one two\nthree four", 12) == ["one two", "three four"]
    assert split_text("one two three four", 12) == ["one two", "three four"]
