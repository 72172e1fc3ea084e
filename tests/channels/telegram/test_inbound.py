"""verify (the secret-token header) and parse (Bot API update shapes → Inbound)."""

from __future__ import annotations

import json

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from bot.channels.base import Channel, Inbound
from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from dialogues.types import Event
from tests.channels.telegram.conftest import SECRET, TOKEN, payload, payload_json

PERSON = "521934877"


@pytest.fixture
async def offline() -> TelegramChannel:
    # verify/parse never touch the network; the session is never used
    async with aiohttp.ClientSession() as session:
        return TelegramChannel(TOKEN, SECRET, "https://api.telegram.org", session)


def test_is_a_channel(offline: TelegramChannel) -> None:
    ch: Channel = offline
    assert ch.name == "telegram"
    caps = ch.capabilities
    assert (caps.text_limit, caps.payload_limit_bytes, caps.reply_window, caps.silent_send) == (4096, 64, None, True)
    assert 1 <= caps.max_buttons <= 8 and caps.button_title_limit == 40


# ---- verify ------------------------------------------------------------------------------------


def test_verify_good_secret(offline: TelegramChannel) -> None:
    assert offline.verify(payload("text_message"), {SECRET_HEADER: SECRET})


def test_verify_header_name_is_case_insensitive(offline: TelegramChannel) -> None:
    assert offline.verify(b"{}", {SECRET_HEADER.lower(): SECRET})
    assert offline.verify(b"{}", CIMultiDictProxy(CIMultiDict({SECRET_HEADER.upper(): SECRET})))


@pytest.mark.parametrize(
    "value",
    ["", "wrong", SECRET + "x", SECRET[:-1], SECRET.upper(), " " + SECRET, "секрет", "\udcff"],
)
def test_verify_bad_secret(offline: TelegramChannel, value: str) -> None:
    assert not offline.verify(payload("text_message"), {SECRET_HEADER: value})


def test_verify_missing_header(offline: TelegramChannel) -> None:
    assert not offline.verify(payload("text_message"), {})
    assert not offline.verify(payload("text_message"), {"X-Viber-Content-Signature": SECRET})


async def test_verify_refuses_everything_without_a_configured_secret() -> None:
    async with aiohttp.ClientSession() as session:
        ch = TelegramChannel(TOKEN, "", "https://api.telegram.org", session)
        assert not ch.verify(b"{}", {SECRET_HEADER: ""})


# ---- parse -------------------------------------------------------------------------------------


def test_parse_text_message(offline: TelegramChannel) -> None:
    assert offline.parse(payload("text_message"), {}) == [
        Inbound(
            "telegram",
            "message",
            user_id=PERSON,
            event=Event("text", text="Здравейте, търся работа в Германия"),
            dedup_key="736201001",
        )
    ]


def test_parse_start_command_is_the_start_payload(offline: TelegramChannel) -> None:
    [inbound] = offline.parse(payload("start_command"), {})
    assert inbound.kind == "message" and inbound.event == Event("payload", payload="/start")


@pytest.mark.parametrize("text", ["/start", "/start ref_abc", "/start@SigurnoBot"])
def test_parse_start_variants(offline: TelegramChannel, text: str) -> None:
    data = payload_json("text_message")
    data["message"]["text"] = text
    [inbound] = offline.parse(json.dumps(data).encode(), {})
    assert inbound.event == Event("payload", payload="/start")  # a deep-link parameter is dropped


def test_parse_other_commands_stay_text(offline: TelegramChannel) -> None:
    data = payload_json("text_message")
    data["message"]["text"] = "/startover"
    [inbound] = offline.parse(json.dumps(data).encode(), {})
    assert inbound.event == Event("text", text="/startover")


def test_parse_callback_query(offline: TelegramChannel) -> None:
    assert offline.parse(payload("callback_query"), {}) == [
        Inbound(
            "telegram",
            "message",
            user_id=PERSON,
            event=Event("payload", payload="mediator:yes"),
            dedup_key="736201002",
            callback_id="2241554307432954881",
        )
    ]


def test_parse_callback_query_on_an_old_inaccessible_message(offline: TelegramChannel) -> None:
    data = payload_json("callback_query")
    data["callback_query"]["message"] = {"chat": data["callback_query"]["message"]["chat"], "message_id": 18, "date": 0}
    [inbound] = offline.parse(json.dumps(data).encode(), {})
    assert inbound.kind == "message" and inbound.event == Event("payload", payload="mediator:yes")
    assert inbound.user_id == PERSON


@pytest.mark.parametrize(
    ("name", "media", "key"),
    [
        ("voice", "audio", "736201004"),
        ("sticker", "sticker", "736201005"),
        ("document", "file", "736201008"),
        ("location", "location", "736201009"),
    ],
)
def test_parse_media_is_nontext(offline: TelegramChannel, name: str, media: str, key: str) -> None:
    assert offline.parse(payload(name), {}) == [
        Inbound("telegram", "message", user_id=PERSON, event=Event("nontext", media=media), dedup_key=key)
    ]


@pytest.mark.parametrize(
    ("name", "caption", "key"),
    [
        ("photo", "договорът", "736201003"),
        ("video_caption", "rabota v holandiq, tova istinska obiava li e?", "736201013"),
        ("document_caption", "Това ли е договорът, който трябва да подпиша?", "736201014"),
    ],
)
def test_parse_a_caption_is_read_as_text(offline: TelegramChannel, name: str, caption: str, key: str) -> None:
    assert offline.parse(payload(name), {}) == [
        Inbound("telegram", "message", user_id=PERSON, event=Event("text", text=caption), dedup_key=key)
    ]


def test_parse_a_blank_caption_leaves_media_nontext(offline: TelegramChannel) -> None:
    data = payload_json("photo")
    data["message"]["caption"] = "   "
    [inbound] = offline.parse(json.dumps(data).encode(), {})
    assert inbound.event == Event("nontext", media="image")


@pytest.mark.parametrize(
    "body",
    [
        payload("strict_parse_failure"),  # external_reply.origin without sender_user_name, its chat without type
        b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}}',
        b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "text": "my secret"}}',
        b'{"update_id": 1, "callback_query": {"id": "1"}}',
    ],
)
def test_parse_an_update_ptb_cannot_read_inside_is_ignored_and_logged_by_type(
    offline: TelegramChannel, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram would resend a 400 for a day; a genuine update PTB's strict constructors refuse somewhere
    inside is acknowledged and ignored, and the log names the exception type, never the content."""
    key = str(json.loads(body)["update_id"])
    assert offline.parse(body, {}) == [Inbound("telegram", "ignored", dedup_key=key)]
    [record] = [r for r in caplog.records if "cannot read" in r.getMessage()]
    assert record.getMessage().endswith(("(TypeError)", "(KeyError)"))
    for private in ("my secret", "виж какво", "Работа", "521934877", "4411"):
        assert private not in caplog.text


@pytest.mark.parametrize(
    ("field", "value", "media"),
    [
        ("video", {"file_id": "BAAC", "file_unique_id": "AgAD", "width": 1, "height": 1, "duration": 1}, "video"),
        ("video_note", {"file_id": "DQAC", "file_unique_id": "AgAD", "length": 240, "duration": 2}, "video"),
        ("audio", {"file_id": "CQAC", "file_unique_id": "AgAD", "duration": 60}, "audio"),
        ("contact", {"phone_number": "+359888000000", "first_name": "Иван"}, "other"),
        ("dice", {"emoji": "🎲", "value": 4}, "other"),
        (
            "venue",
            {"location": {"latitude": 1.0, "longitude": 2.0}, "title": "Гара", "address": "бул. Мария Луиза"},
            "location",
        ),
    ],
)
def test_parse_more_media(offline: TelegramChannel, field: str, value: object, media: str) -> None:
    data = payload_json("text_message")
    del data["message"]["text"]
    data["message"][field] = value
    if field == "venue":
        data["message"]["location"] = {"latitude": 1.0, "longitude": 2.0}
    [inbound] = offline.parse(json.dumps(data).encode(), {})
    assert inbound.event == Event("nontext", media=media)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("group_message", "736201006"),
        ("edited_message", "736201007"),
        ("channel_post", "736201010"),
        ("my_chat_member_blocked", "736201012"),
    ],
)
def test_parse_ignored(offline: TelegramChannel, name: str, key: str) -> None:
    assert offline.parse(payload(name), {}) == [Inbound("telegram", "ignored", dedup_key=key)]


def test_parse_callback_in_a_group_is_ignored_but_can_be_answered(offline: TelegramChannel) -> None:
    [inbound] = offline.parse(payload("callback_query_group"), {})
    assert inbound.kind == "ignored" and inbound.user_id == "" and inbound.event is None
    assert inbound.callback_id == "2241554307432954999"


def test_parse_service_message_is_ignored(offline: TelegramChannel) -> None:
    data = payload_json("text_message")
    del data["message"]["text"]
    data["message"]["pinned_message"] = {"chat": data["message"]["chat"], "message_id": 3, "date": 0}
    [inbound] = offline.parse(json.dumps(data).encode(), {})
    assert inbound.kind == "ignored"


def test_parse_message_from_a_bot_is_ignored(offline: TelegramChannel) -> None:
    data = payload_json("text_message")
    data["message"]["from"]["is_bot"] = True
    [inbound] = offline.parse(json.dumps(data).encode(), {})
    assert inbound.kind == "ignored"


def test_parse_unknown_update_type_is_ignored(offline: TelegramChannel) -> None:
    body = json.dumps({"update_id": 5, "some_future_update": {"x": 1}}).encode()
    assert offline.parse(body, {}) == [Inbound("telegram", "ignored", dedup_key="5")]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"update"',
        b"{}",
        b'{"update_id": "736201001"}',
        b'{"update_id": true}',
        b'{"update_id": -1}',
        b'{"update_id": 1, "message": "hello"}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 0}, "callback_query": 7}',
    ],
)
def test_parse_rejects_what_is_not_an_update(offline: TelegramChannel, body: bytes) -> None:
    with pytest.raises(ValueError, match="not a Telegram update"):
        offline.parse(body, {})


def test_parse_error_does_not_echo_the_body(offline: TelegramChannel) -> None:
    body = b'{"update_id": 1, "message": ["my secret"]}'
    with pytest.raises(ValueError) as info:
        offline.parse(body, {})
    assert "my secret" not in str(info.value) and info.value.__cause__ is None


@pytest.mark.parametrize("name", ["text_message", "sticker"])
def test_parse_keeps_the_apps_language_as_a_hint(offline: TelegramChannel, name: str) -> None:
    data = payload_json(name)
    data["message"]["from"]["language_code"] = "ru"
    [inbound] = offline.parse(json.dumps(data).encode(), {})
    assert inbound.event is not None and inbound.event.language_hint == "ru"
