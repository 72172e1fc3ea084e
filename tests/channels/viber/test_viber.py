"""ViberChannel on its own: signature, parsing of every callback, sending, errors, welcome, webhook, secrecy."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from typing import Any

import aiohttp
import pytest
import viberbot.api.api
import viberbot.api.api_request_sender
import viberbot.api.message_sender

import bot.channels.viber as viber_module
from bot.channels.base import Inbound, SendError
from bot.channels.viber import PAYLOAD_PREFIX, ViberChannel, signature
from bot.logsafe import install_log_filters
from dialogues.types import Button, Event, Reply
from tests.channels.viber.conftest import PAYLOADS, TOKEN, leaks, payload, signed
from tests.channels.viber.fakeviber import FakeViber

USER = "01234567890A="
ALL_FIXTURES = sorted(p.stem for p in PAYLOADS.glob("*.json"))


@pytest.fixture(autouse=True)
def no_blocking_viberbot(monkeypatch: pytest.MonkeyPatch) -> None:
    """viberbot's synchronous, timeout-less requests path must never run inside the event loop."""

    def boom(*_: object, **__: object) -> None:
        raise AssertionError("viberbot's blocking requests-based Api was used")

    monkeypatch.setattr(viberbot.api.api_request_sender.requests, "post", boom)
    monkeypatch.setattr(viberbot.api.api_request_sender.ApiRequestSender, "post_request", boom)
    monkeypatch.setattr(viberbot.api.message_sender.MessageSender, "send_message", boom)
    monkeypatch.setattr(viberbot.api.api.Api, "send_messages", boom)
    monkeypatch.setattr(viberbot.api.api.Api, "verify_signature", boom)


def offline() -> ViberChannel:
    """A channel for the pure methods (verify, parse, welcome_body): its session is never used."""
    return ViberChannel(TOKEN, "http://127.0.0.1:9", session=None)  # type: ignore[arg-type]


# ---- verify ------------------------------------------------------------------------------------


def test_signature_matches_viberbots_own_test_vector() -> None:
    token = "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3"
    body = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
    assert signature(token, body) == "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
    channel = ViberChannel(token, "", session=None)  # type: ignore[arg-type]
    good = {"X-Viber-Content-Signature": "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"}
    assert channel.verify(body, good)


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_verifies_over_its_raw_bytes(name: str) -> None:
    body = payload(name)
    assert offline().verify(body, signed(body))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Viber-Content-Signature": ""},
        {"X-Viber-Content-Signature": "0" * 64},
        {"X-Viber-Content-Signature": "zz"},
        {"X-Viber-Content-Signature": "подпис"},
        {"X-Viber-Signature": "whatever"},
    ],
)
def test_missing_or_wrong_signature_is_refused(headers: dict[str, str]) -> None:
    assert not offline().verify(payload("message_text"), headers)


def test_signature_over_another_body_or_token_is_refused() -> None:
    body = payload("message_text")
    assert not offline().verify(body + b" ", signed(body))
    assert not offline().verify(body.replace("Германия".encode(), "Франция".encode()), signed(body))
    assert not offline().verify(body, signed(body, token="0000000000000000-0000000000000000-0000000000000000"))
    # re-encoded JSON (what a framework's request.json() would give) does not match: raw bytes only
    reencoded = json.dumps(json.loads(body)).encode()
    assert not offline().verify(reencoded, signed(body))


def test_header_name_is_case_insensitive_even_in_a_plain_dict() -> None:
    body = payload("webhook")
    assert offline().verify(body, {"x-viber-content-signature": signature(TOKEN, body)})
    assert offline().verify(body, {"X-Viber-Content-Signature": signature(TOKEN, body).upper()})


def test_verify_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = payload("message_text")
    assert offline().verify(body, signed(body))
    assert not offline().verify(body, {"X-Viber-Content-Signature": "ab" * 32})
    assert len(calls) == 2


def test_an_empty_token_is_refused_at_construction() -> None:
    with pytest.raises(ValueError):
        ViberChannel("", "", session=None)  # type: ignore[arg-type]


# ---- parse -------------------------------------------------------------------------------------


def parse_one(name: str) -> Inbound:
    body = payload(name)
    items = offline().parse(body, signed(body))
    assert len(items) == 1
    assert items[0].channel == "viber"
    return items[0]


def test_text_message() -> None:
    got = parse_one("message_text")
    assert got == Inbound(
        "viber",
        "message",
        user_id=USER,
        event=Event("text", text="Здравей, търся работа в Германия"),
        dedup_key="4912661846655238145",  # a 64-bit integer, kept exact as a string (not a float)
    )


def test_keyboard_tap_becomes_a_payload() -> None:
    got = parse_one("keyboard_reply")
    assert got.kind == "message"
    assert got.event == Event("payload", payload="lang:bg")
    assert got.dedup_key == "4912661846655238146"


def test_typed_text_that_is_only_the_prefix_stays_text() -> None:
    raw = json.loads(payload("message_text"))
    raw["message"]["text"] = PAYLOAD_PREFIX
    got = offline().parse(json.dumps(raw).encode(), {})[0]
    assert got.event == Event("text", text=PAYLOAD_PREFIX)


@pytest.mark.parametrize(("name", "media"), [("picture", "image"), ("sticker", "sticker"), ("location", "location")])
def test_media_messages_are_nontext(name: str, media: str) -> None:
    got = parse_one(name)
    assert got.kind == "message"
    assert got.user_id == USER
    assert got.event is not None
    assert got.event.kind == "nontext"
    assert got.event.media == media
    assert got.dedup_key.isdigit()


def test_a_picture_keeps_its_caption() -> None:
    got = parse_one("picture")
    assert got.event == Event("nontext", text="договорът", media="image")


@pytest.mark.parametrize(
    ("message", "media"),
    [
        ({"type": "video", "media": "https://v", "size": 1}, "video"),
        ({"type": "file", "media": "https://f", "size": 1, "file_name": "contract.pdf"}, "file"),
        ({"type": "contact", "contact": {"name": "X", "phone_number": "+359"}}, "other"),
        ({"type": "url", "media": "https://example.com/job"}, "other"),
        ({"type": "voice_note_from_the_future"}, "other"),
    ],
)
def test_other_message_kinds(message: dict[str, Any], media: str) -> None:
    raw = json.loads(payload("message_text"))
    raw["message"] = message
    got = offline().parse(json.dumps(raw).encode(), {})[0]
    assert got.kind == "message"
    assert got.event is not None
    assert (got.event.kind, got.event.media) == ("nontext", media)


def test_subscribed() -> None:
    got = parse_one("subscribed")
    assert (got.kind, got.user_id) == ("subscribed", "jc9HsWTZ2Yf2NkRZ8KcNug==")
    assert got.dedup_key == "subscribed:4912661846655238150"


def test_unsubscribed() -> None:
    got = parse_one("unsubscribed")
    assert (got.kind, got.user_id) == ("unsubscribed", USER)
    assert got.dedup_key == "unsubscribed:4912661846655238151"


def test_conversation_started() -> None:
    got = parse_one("conversation_started")
    assert (got.kind, got.user_id, got.event) == ("conversation_started", USER, None)
    assert got.dedup_key == "conversation_started:4912661846655238152"


@pytest.mark.parametrize(("name", "error"), [("delivered", ""), ("seen", ""), ("failed", "failure desc")])
def test_receipts(name: str, error: str) -> None:
    got = parse_one(name)
    assert got.kind == "delivery"
    assert got.user_id == USER
    assert got.receipt_status == name
    assert got.receipt_error == error
    token = "5741311803571721088" if name == "failed" else "5741311803571721087"
    assert got.receipt_for == token
    assert got.dedup_key == f"{name}:{token}"


def test_delivered_and_seen_of_one_message_are_not_duplicates() -> None:
    assert parse_one("delivered").dedup_key != parse_one("seen").dedup_key


def test_webhook_check_is_ignored() -> None:
    assert parse_one("webhook").kind == "ignored"


def test_an_unknown_event_is_acknowledged_not_an_error() -> None:
    body = b'{"event":"client_status","timestamp":1,"message_token":2}'
    assert offline().parse(body, {}) == [Inbound("viber", "ignored")]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"message"',
        b'{"timestamp":1}',
        b'{"event":7}',
        b'{"event":"message","timestamp":1,"message_token":1}',
        b'{"event":"message","timestamp":1,"sender":{"id":"x"},"message":{"type":"text","text":"a"}}',
        b'{"event":"message","timestamp":1,"message_token":1,"sender":{},"message":{"type":"text","text":"a"}}',
        b'{"event":"seen","timestamp":1,"message_token":1}',
        b'{"event":"conversation_started","timestamp":1,"message_token":1,"type":"open","user":{}}',
        b'{"event":"subscribed","message_token":1,"user":{"id":"x"}}',
    ],
)
def test_a_body_that_is_not_vibers_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        offline().parse(body, {})


# ---- send --------------------------------------------------------------------------------------

MENU = Reply(
    "Какво ви трябва?",
    (
        Button("1. Работа в чужбина", "menu:work"),
        Button("Да", "jobcheck:yes"),
        Button("Не", "jobcheck:no"),
        Button("<b>Медиатор</b> & co", "menu:mediator"),
    ),
)


async def test_send_text_with_a_keyboard(channel: ViberChannel, fake: FakeViber) -> None:
    ids = await channel.send(USER, MENU)
    assert len(fake.requests) == 1
    rec = fake.requests[0]
    assert rec.path == "/pa/send_message"
    assert rec.headers["X-Viber-Auth-Token"] == TOKEN
    assert rec.headers["Content-Type"].startswith("application/json")
    assert TOKEN.encode() not in rec.raw  # the token travels in the header only, never in the body
    assert "Какво".encode() in rec.raw  # UTF-8, not \\u escapes (6 bytes a letter would break 30 KB sooner)
    body = rec.body
    assert ids == [str(5_741_311_803_571_721_000)]
    assert body["receiver"] == USER
    assert body["type"] == "text"
    assert body["text"] == "Какво ви трябва?"
    assert body["sender"] == {"name": "Sigurno"}
    assert body["min_api_version"] == 1
    assert "auth_token" not in body and "tracking_data" not in body
    kb = body["keyboard"]
    assert kb["Type"] == "keyboard"
    assert kb["DefaultHeight"] is False
    assert kb["BgColor"].startswith("#")
    buttons = kb["Buttons"]
    assert [b["ActionBody"] for b in buttons] == [PAYLOAD_PREFIX + b.payload for b in MENU.buttons]
    assert all(b["ActionType"] == "reply" and b["Rows"] == 1 and b["Silent"] is True for b in buttons)
    assert all(b["BgColor"].startswith("#") for b in buttons)
    # long title alone on its row, the two short ones share a row, the last is alone again
    assert [b["Columns"] for b in buttons] == [6, 3, 3, 6]
    assert buttons[0]["Text"] == "1. Работа в чужбина"
    assert buttons[3]["Text"] == "&lt;b&gt;Медиатор&lt;/b&gt; &amp; co"  # titles never become markup


async def test_a_tap_on_a_sent_button_parses_back_to_its_payload(channel: ViberChannel, fake: FakeViber) -> None:
    await channel.send(USER, MENU)
    for button, sent in zip(MENU.buttons, fake.sent()[0]["keyboard"]["Buttons"], strict=True):
        raw = json.loads(payload("keyboard_reply"))
        raw["message"]["text"] = sent["ActionBody"]
        got = channel.parse(json.dumps(raw, ensure_ascii=False).encode(), {})[0]
        assert got.event == Event("payload", payload=button.payload)


async def test_send_plain_text_has_no_keyboard(channel: ViberChannel, fake: FakeViber) -> None:
    ids = await channel.send(USER, Reply("Здравейте"))
    assert len(ids) == 1
    assert "keyboard" not in fake.sent()[0]


async def test_buttons_without_text_go_as_a_keyboard_message(channel: ViberChannel, fake: FakeViber) -> None:
    ids = await channel.send(USER, Reply("", (Button("Меню", "menu"),)))
    assert len(ids) == 1
    body = fake.sent()[0]
    assert "text" not in body
    assert body["keyboard"]["Buttons"][0]["ActionBody"] == PAYLOAD_PREFIX + "menu"


async def test_nothing_to_send_sends_nothing(channel: ViberChannel, fake: FakeViber) -> None:
    assert await channel.send(USER, Reply("  ")) == []
    assert fake.requests == []


async def test_too_long_text_is_split_at_paragraphs_keyboard_last(channel: ViberChannel, fake: FakeViber) -> None:
    para = "Това е абзац за работа в чужбина. " * 40  # ~1360 characters
    text = "\n\n".join([para.strip()] * 8)  # ~11 000 characters
    ids = await channel.send(USER, Reply(text, (Button("Меню", "menu"),)))
    sent = fake.sent()
    assert len(ids) == len(sent) == 2
    assert all(len(b["text"]) <= 7000 for b in sent)
    assert all(len(r.raw) <= 30_000 for r in fake.requests)
    assert "keyboard" not in sent[0] and "keyboard" in sent[1]
    assert sent[0]["text"].endswith(para.strip())  # cut at a paragraph boundary
    assert "".join(b["text"] for b in sent).replace("\n", "") == text.replace("\n", "")


async def test_one_huge_word_is_still_cut_within_limits(channel: ViberChannel, fake: FakeViber) -> None:
    await channel.send(USER, Reply("щ" * 15_000))
    sent = fake.sent()
    assert sum(len(b["text"]) for b in sent) == 15_000
    assert all(len(b["text"]) <= 7000 for b in sent)
    assert all(len(r.raw) <= 30_000 for r in fake.requests)


async def test_defends_itself_against_too_many_or_too_long_buttons(channel: ViberChannel, fake: FakeViber) -> None:
    many = tuple(Button("Бутон " + "x" * 300, f"p:{i}") for i in range(20))
    await channel.send(USER, Reply("избери", many))
    buttons = fake.sent()[0]["keyboard"]["Buttons"]
    assert len(buttons) == ViberChannel.capabilities.max_buttons
    assert all(len(b["Text"]) <= ViberChannel.capabilities.button_title_limit for b in buttons)


async def test_sender_name_is_cut_to_vibers_28(fake: FakeViber, session: aiohttp.ClientSession) -> None:
    channel = ViberChannel(TOKEN, fake.url + "/", session, bot_name="S" * 40)
    await channel.send(USER, Reply("hi"))
    assert fake.sent()[0]["sender"] == {"name": "S" * 28}


async def test_sends_do_not_block_each_other(fake: FakeViber, session: aiohttp.ClientSession) -> None:
    fake.by_receiver["slow"] = "hang"
    channel = ViberChannel(TOKEN, fake.url, session, timeout_seconds=1.0)
    slow = asyncio.create_task(channel.send("slow", Reply("x")))
    started = time.monotonic()
    fast = await asyncio.gather(*(channel.send(f"u{i}", Reply("x")) for i in range(20)))
    assert time.monotonic() - started < 0.8  # answered while the slow one still waits
    assert len({ids[0] for ids in fast}) == 20
    with pytest.raises(SendError):
        await slow


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "permanent"), [("status6", True), ("status5", True), ("status12", False)])
async def test_viber_status_errors(channel: ViberChannel, fake: FakeViber, mode: str, permanent: bool) -> None:
    fake.default = mode
    with pytest.raises(SendError) as err:
        await channel.send(USER, Reply("hi"))
    assert err.value.permanent is permanent
    assert f"status {mode.removeprefix('status')}" in str(err.value)


@pytest.mark.parametrize("mode", ["http500", "garbage"])
async def test_http_errors_are_send_errors(channel: ViberChannel, fake: FakeViber, mode: str) -> None:
    fake.default = mode
    with pytest.raises(SendError) as err:
        await channel.send(USER, Reply("hi"))
    assert err.value.permanent is False


async def test_a_hanging_api_fails_within_the_timeout(channel: ViberChannel, fake: FakeViber) -> None:
    fake.default = "hang"
    started = time.monotonic()
    with pytest.raises(SendError) as err:
        await channel.send(USER, Reply("hi"))
    assert time.monotonic() - started < 2.0
    assert err.value.permanent is False
    assert "no answer within 0.5 s" in str(err.value)


async def test_an_unreachable_api_is_a_send_error(session: aiohttp.ClientSession) -> None:
    channel = ViberChannel(TOKEN, "http://127.0.0.1:9", session, timeout_seconds=2)
    with pytest.raises(SendError) as err:
        await channel.send(USER, Reply("hi"))
    assert err.value.permanent is False


async def test_a_wrong_token_is_refused_and_reported(fake: FakeViber, session: aiohttp.ClientSession) -> None:
    channel = ViberChannel("ffffffffffffffff-ffffffffffffffff-ffffffffffffffff", fake.url, session)
    with pytest.raises(SendError, match="invalidAuthToken") as err:
        await channel.send(USER, Reply("hi"))
    assert "ffffffffffffffff" not in str(err.value)


async def test_the_token_never_appears_in_errors_reprs_or_logs(
    fake: FakeViber, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, every logger
    channel = ViberChannel(TOKEN, fake.url, session, timeout_seconds=0.3)
    texts = [repr(channel), str(vars(channel).get("_api_url"))]
    for mode in ("ok", "status5", "status6", "status12", "http500", "garbage", "hang"):
        fake.default = mode
        try:
            await channel.send(USER, MENU)
        except SendError as e:
            texts += [str(e), repr(e), repr(e.__cause__), repr(e.__context__)]
    fake.webhook_status = 1
    with pytest.raises(SendError) as err:
        await channel.set_webhook("https://bot.example.org")
    texts += [str(err.value), repr(err.value)]
    unreachable = ViberChannel(TOKEN, "http://127.0.0.1:9", session)
    with pytest.raises(SendError) as err2:
        await unreachable.send(USER, MENU)
    texts += [str(err2.value), repr(err2.value.__cause__)]
    texts += [r.getMessage() for r in caplog.records]
    assert not [t for t in texts if leaks(t)]
    # nor the person's id or words
    assert not [t for t in texts if USER in t or "Какво" in t]


def test_viberbots_logger_is_quiet() -> None:
    # viberbot's only logger; it logs the token and text at DEBUG and at ERROR
    assert viber_module.VIBERBOT_LOGGERS == ("viber.bot.api",)
    assert logging.getLogger("viber.bot.api").getEffectiveLevel() > logging.ERROR
    install_log_filters()  # what every app start does: it must not make viberbot louder again
    assert logging.getLogger("viber.bot.api").getEffectiveLevel() > logging.ERROR


# ---- welcome -----------------------------------------------------------------------------------


def test_welcome_body_is_one_send_message_without_receiver() -> None:
    replies = (
        Reply("Здравейте! Аз съм Сигурно."),
        Reply("Изберете език:", (Button("Български", "lang:bg"), Button("English", "lang:en"))),
    )
    body = offline().welcome_body(replies)
    assert set(body) == {"sender", "type", "text", "keyboard", "min_api_version"}
    assert body["sender"] == {"name": "Sigurno"}
    assert body["type"] == "text"
    assert body["text"] == "Здравейте! Аз съм Сигурно.\n\nИзберете език:"
    assert [b["ActionBody"] for b in body["keyboard"]["Buttons"]] == ["sgn:lang:bg", "sgn:lang:en"]
    assert len(json.dumps(body, ensure_ascii=False).encode()) < 30_000


def test_welcome_body_is_cut_to_one_message() -> None:
    body = offline().welcome_body((Reply("дълъг текст " * 2000, (Button("Меню", "menu"),)),))
    assert len(body["text"]) <= 7000
    assert "keyboard" in body


def test_no_welcome_when_there_is_nothing_to_say() -> None:
    assert offline().welcome_body(()) == {}
    assert offline().welcome_body((Reply(""),)) == {}


# ---- set_webhook -------------------------------------------------------------------------------


async def test_set_webhook_asks_for_no_names_or_photos(channel: ViberChannel, fake: FakeViber) -> None:
    await channel.set_webhook("https://bot.example.org/")
    assert len(fake.requests) == 1
    rec = fake.requests[0]
    assert rec.path == "/pa/set_webhook"
    assert rec.headers["X-Viber-Auth-Token"] == TOKEN
    assert TOKEN.encode() not in rec.raw
    assert rec.body == {
        "url": "https://bot.example.org/webhooks/viber",
        "event_types": ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"],
        "send_name": False,
        "send_photo": False,
    }


async def test_set_webhook_refused_says_why(channel: ViberChannel, fake: FakeViber) -> None:
    fake.webhook_status = 1
    with pytest.raises(SendError, match=r"did not accept the webhook https://bot\.example\.org/webhooks/viber") as e:
        await channel.set_webhook("https://bot.example.org")
    assert "status 1 (invalidUrl)" in str(e.value)
    assert "HTTPS" in str(e.value)


async def test_set_webhook_on_a_hanging_api_fails_in_time(channel: ViberChannel, fake: FakeViber) -> None:
    fake.default = "hang"
    started = time.monotonic()
    with pytest.raises(SendError):
        await channel.set_webhook("https://bot.example.org")
    assert time.monotonic() - started < 2.0


def test_welcome_body_turns_extra_buttons_into_a_numbered_list() -> None:
    buttons = tuple(Button(f"Държава {i}", f"country:C{i}") for i in range(15))
    body = offline().welcome_body((Reply("Коя държава?", buttons),))
    assert len(body["keyboard"]["Buttons"]) == ViberChannel.capabilities.max_buttons
    assert "Държава 14" in body["text"]  # not lost: listed under the text, pickable by its number


def test_the_phones_language_is_kept_as_a_hint() -> None:
    got = parse_one("message_text")
    assert got.event is not None and got.event.language_hint == "bg"
