"""send() against a fake Graph API on loopback: request shape, limits, errors, timeouts, no leaked secrets."""

from __future__ import annotations

import logging
import secrets
import time
import traceback
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.channels.base import SendError
from bot.channels.messenger import MessengerChannel, PartialSendError, split_text, within_window
from dialogues.types import Button, Reply
from tests.channels.messenger.fakegraph import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, FakeGraph

PSID = "6512345678901234"


async def test_plain_text(live: MessengerChannel, graph: FakeGraph) -> None:
    ids = await live.send(PSID, Reply("Здравей! Как можем да помогнем?"))
    assert ids == ["m_fakegraph000001"]
    [sent] = graph.sent
    assert sent.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Здравей! Как можем да помогнем?"},
        "notification_type": "REGULAR",
    }
    assert sent.query["access_token"] == PAGE_TOKEN
    assert "appsecret_proof" in sent.query and len(sent.query["appsecret_proof"]) == 64


async def test_sensitive_reply_is_silent(live: MessengerChannel, graph: FakeGraph) -> None:
    await live.send(PSID, Reply("A mediator will write to you here.", sensitive=True))
    assert graph.sent[0].body["notification_type"] == "SILENT_PUSH"


async def test_quick_replies(live: MessengerChannel, graph: FakeGraph) -> None:
    buttons = (Button("Български", "lang:bg"), Button("Romani", "lang:rom"), Button("English", "lang:en"))
    await live.send(PSID, Reply("Choose a language", buttons))
    message = graph.sent[0].body["message"]
    assert message == {
        "text": "Choose a language",
        "quick_replies": [
            {"content_type": "text", "title": "Български", "payload": "lang:bg"},
            {"content_type": "text", "title": "Romani", "payload": "lang:rom"},
            {"content_type": "text", "title": "English", "payload": "lang:en"},
        ],
    }


async def test_quick_replies_are_capped_at_13_with_titles_of_20(live: MessengerChannel, graph: FakeGraph) -> None:
    buttons = tuple(Button(f"Option number {i} with a long title", f"topic:{i}") for i in range(20))
    await live.send(PSID, Reply("Pick one", buttons))
    quick = graph.sent[0].body["message"]["quick_replies"]
    assert len(quick) == 13
    assert all(len(q["title"]) <= 20 for q in quick)
    assert [q["payload"] for q in quick] == [f"topic:{i}" for i in range(13)]
    assert all(q["content_type"] == "text" for q in quick)


async def test_oversized_or_empty_buttons_are_dropped_not_cut(live: MessengerChannel, graph: FakeGraph) -> None:
    buttons = (Button("Too big", "x" * 1001), Button("", "menu"), Button("Fine", "menu"))
    await live.send(PSID, Reply("Menu", buttons))
    assert graph.sent[0].body["message"]["quick_replies"] == [
        {"content_type": "text", "title": "Fine", "payload": "menu"}
    ]


async def test_long_text_is_split_with_quick_replies_on_the_last_part(live: MessengerChannel, graph: FakeGraph) -> None:
    paragraphs = [f"Paragraph {i}. " + "Words of advice about work abroad. " * 20 for i in range(8)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 4000
    ids = await live.send(PSID, Reply(text, (Button("Menu", "menu"),), sensitive=True))
    assert len(ids) == len(graph.sent) >= 3
    parts = [s.text for s in graph.sent]
    assert all(len(p) <= 2000 for p in parts)
    assert all(p.startswith("Paragraph") for p in parts)  # cut at paragraph boundaries
    assert " ".join(" ".join(p.split()) for p in parts) == " ".join(text.split())  # nothing lost
    assert ["quick_replies" in s.body["message"] for s in graph.sent] == [False] * (len(parts) - 1) + [True]
    assert {s.body["notification_type"] for s in graph.sent} == {"SILENT_PUSH"}


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    assert split_text("short", 2000) == ["short"]
    assert split_text("", 2000) == []
    assert split_text("aaaa\n\nbbbb", 8) == ["aaaa", "bbbb"]
    assert split_text("aaaa\nbbbb", 8) == ["aaaa", "bbbb"]
    assert split_text("aaa bbb ccc", 8) == ["aaa bbb", "ccc"]
    assert split_text("x" * 20, 8) == ["x" * 8, "x" * 8, "x" * 4]  # no boundary: a hard cut
    assert split_text("a" * 8 + " b", 8) == ["a" * 8, "b"]  # a boundary right at the limit
    words = " ".join(["слово"] * 1000)
    parts = split_text(words, 2000)
    assert all(len(p) <= 2000 for p in parts) and " ".join(parts) == words
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in parts)


async def test_empty_reply_sends_nothing(live: MessengerChannel, graph: FakeGraph) -> None:
    assert await live.send(PSID, Reply("   ")) == []
    assert graph.requests == []


# ---- errors ----------------------------------------------------------------------------------


async def test_outside_the_window_is_permanent(live: MessengerChannel, graph: FakeGraph) -> None:
    graph.default = "window"
    with pytest.raises(SendError) as info:
        await live.send(PSID, Reply("hello"))
    assert info.value.permanent is True
    assert "10/2018278" in str(info.value)


async def test_user_unavailable_is_permanent(live: MessengerChannel, graph: FakeGraph) -> None:
    graph.default = "unavailable"
    with pytest.raises(SendError) as info:
        await live.send(PSID, Reply("hello"))
    assert info.value.permanent is True


async def test_server_error_is_not_permanent(live: MessengerChannel, graph: FakeGraph) -> None:
    graph.default = "500"
    with pytest.raises(SendError) as info:
        await live.send(PSID, Reply("hello"))
    assert info.value.permanent is False
    assert "HTTP 500" in str(info.value)


async def test_a_hanging_api_fails_within_the_timeout(live: MessengerChannel, graph: FakeGraph) -> None:
    graph.default = "hang"
    started = time.monotonic()
    with pytest.raises(SendError) as info:
        await live.send(PSID, Reply("hello"))
    assert time.monotonic() - started < 3
    assert info.value.permanent is False
    assert len(graph.requests) == 1


async def test_unreachable_api(session: aiohttp.ClientSession) -> None:
    ch = MessengerChannel(PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN, "http://127.0.0.1:9/v25.0", session, timeout=2)
    with pytest.raises(SendError) as info:
        await ch.send(PSID, Reply("hello"))
    assert info.value.permanent is False


async def test_a_failing_later_part_reports_what_was_sent(live: MessengerChannel, graph: FakeGraph) -> None:
    graph.plan = ["ok", "500"]
    with pytest.raises(PartialSendError) as info:
        await live.send(PSID, Reply("a" * 1500 + "\n\n" + "b" * 1500 + "\n\n" + "c" * 1500))
    assert info.value.sent == ("m_fakegraph000001",)
    assert isinstance(info.value, SendError) and not info.value.permanent


@pytest.mark.parametrize("mode", ["window", "unavailable", "500", "hang", "unreachable", "bad-token"])
async def test_secrets_never_appear_in_errors_or_logs(
    mode: str, graph: FakeGraph, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api_url = "http://127.0.0.1:9/v25.0" if mode == "unreachable" else graph.api_url
    token = PAGE_TOKEN + "-wrong" if mode == "bad-token" else PAGE_TOKEN
    ch = MessengerChannel(token, APP_SECRET, VERIFY_TOKEN, api_url, session, timeout=0.5)
    graph.default = mode if mode in ("window", "unavailable", "500", "hang") else "ok"
    text = "my boss took my passport " + secrets.token_hex(8)  # random: tracebacks show this source line
    with pytest.raises(SendError) as info:
        await ch.send(PSID, Reply(text))
    err = info.value
    shown = "\n".join([str(err), repr(err), "".join(traceback.format_exception(err)), caplog.text, repr(ch)])
    proof = graph.requests[0].query["appsecret_proof"] if graph.requests else "no-request"
    for secret in (token, PAGE_TOKEN[:24], APP_SECRET, VERIFY_TOKEN, proof, PSID, text, "access_token="):
        assert secret not in shown, (mode, secret)
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


async def test_set_webhook_explains_the_dashboard(live: MessengerChannel, graph: FakeGraph) -> None:
    with pytest.raises(RuntimeError) as info:
        await live.set_webhook("https://bot.example.org/")
    message = str(info.value)
    assert "https://bot.example.org/webhooks/messenger" in message
    assert "dashboard" in message and "verify token" in message
    assert VERIFY_TOKEN not in message and PAGE_TOKEN not in message
    assert graph.requests == []


# ---- the 24-hour window ----------------------------------------------------------------------


def test_within_window(live: MessengerChannel) -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert live.within_window(now - timedelta(hours=23, minutes=59), now)
    assert live.within_window(now, now)
    assert not live.within_window(now - timedelta(hours=24), now)
    assert not live.within_window(now - timedelta(days=3), now)
    assert within_window(now - timedelta(hours=1), now)
    assert live.capabilities.reply_window == timedelta(hours=24)
