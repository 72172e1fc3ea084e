"""verify / verify_subscription / parse against real Messenger payload shapes (PLATFORMS.md §2.1-2.3)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.channels.base import Inbound
from bot.channels.messenger import MessengerChannel
from dialogues.types import Event
from tests.channels.messenger.fakegraph import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, payload, sign

PSID = "6512345678901234"
FIXTURES = ("text", "quick_reply", "postback", "image", "sticker", "echo", "delivery", "read", "batched")


def parse(channel: MessengerChannel, name: str) -> list[Inbound]:
    body = payload(name)
    headers = {"X-Hub-Signature-256": sign(body)}
    assert channel.verify(body, headers)
    return channel.parse(body, headers)


# ---- verify ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_verifies_with_the_test_secret(channel: MessengerChannel, name: str) -> None:
    body = payload(name)
    assert channel.verify(body, {"X-Hub-Signature-256": sign(body)})


def test_signature_header_name_is_case_insensitive(channel: MessengerChannel) -> None:
    body = payload("text")
    assert channel.verify(body, {"x-hub-signature-256": sign(body)})
    assert channel.verify(body, {"X-Hub-Signature-256": sign(body).upper().replace("SHA256=", "sha256=")})


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("sha256=" + "0" * 64, id="wrong-digest"),
        pytest.param("sha1=" + hmac.new(APP_SECRET.encode(), b"", hashlib.sha1).hexdigest(), id="sha1-prefix"),
        pytest.param("SHA256-", id="garbage"),
        pytest.param("sha256=", id="no-digest"),
        pytest.param("sha256=zz" + "0" * 62, id="not-hex"),
        pytest.param("sha256=ŝ" + "0" * 63, id="non-ascii"),
    ],
)
def test_bad_signatures_are_refused(channel: MessengerChannel, header: str | None) -> None:
    body = payload("text")
    headers = {} if header is None else {"X-Hub-Signature-256": header}
    assert channel.verify(body, headers) is False


def test_wrong_prefix_with_the_right_digest_is_refused(channel: MessengerChannel) -> None:
    body = payload("text")
    digest = sign(body).removeprefix("sha256=")
    assert not channel.verify(body, {"X-Hub-Signature-256": digest})
    assert not channel.verify(body, {"X-Hub-Signature-256": "sha1=" + digest})
    assert not channel.verify(body, {"X-Hub-Signature": "sha256=" + digest})  # the legacy header name


def test_signature_by_another_secret_is_refused(channel: MessengerChannel) -> None:
    body = payload("text")
    assert not channel.verify(body, {"X-Hub-Signature-256": sign(body, "another-app-secret")})


def test_signature_covers_the_raw_bytes_not_reencoded_json(channel: MessengerChannel) -> None:
    body = payload("text")  # Meta escapes non-ASCII (\u0417...): hashing re-serialised JSON would not match
    reencoded = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    assert reencoded != body
    assert not channel.verify(reencoded, {"X-Hub-Signature-256": sign(body)})
    tampered = body.replace(b"passport", b"passporT")
    assert not channel.verify(tampered, {"X-Hub-Signature-256": sign(body)})


def test_no_app_secret_refuses_everything() -> None:
    ch = MessengerChannel(PAGE_TOKEN, "", VERIFY_TOKEN, "http://127.0.0.1:9", session=None)  # type: ignore[arg-type]
    body = payload("text")
    empty_key_sig = "sha256=" + hmac.new(b"", body, hashlib.sha256).hexdigest()
    assert not ch.verify(body, {"X-Hub-Signature-256": empty_key_sig})


# ---- verify_subscription ---------------------------------------------------------------------


async def test_hub_verification_returns_the_challenge(channel: MessengerChannel) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert await channel.verify_subscription(query) == "1158201444"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, id="wrong-token"),
        pytest.param({"hub.mode": "subscribe", "hub.challenge": "1"}, id="missing-token"),
        pytest.param({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, id="mode"),
        pytest.param({"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, id="no-mode"),
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, id="no-challenge"),
        pytest.param(
            {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "1"}, id="prefix"
        ),
        pytest.param(
            {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN + "x", "hub.challenge": "1"}, id="longer"
        ),
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": "ŝ", "hub.challenge": "1"}, id="non-ascii"),
        pytest.param({}, id="empty"),
    ],
)
async def test_hub_verification_refuses(channel: MessengerChannel, query: dict[str, str]) -> None:
    assert await channel.verify_subscription(query) is None


async def test_hub_verification_with_no_configured_token_refuses_an_empty_one() -> None:
    ch = MessengerChannel(PAGE_TOKEN, APP_SECRET, "", "http://127.0.0.1:9", session=None)  # type: ignore[arg-type]
    assert await ch.verify_subscription({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}) is None


# ---- parse -----------------------------------------------------------------------------------


def test_capabilities(channel: MessengerChannel) -> None:
    caps = channel.capabilities
    assert channel.name == "messenger"
    assert (caps.text_limit, caps.max_buttons, caps.button_title_limit) == (2000, 13, 20)
    assert caps.payload_limit_bytes == 1000
    assert caps.reply_window is not None and caps.reply_window.total_seconds() == 24 * 3600
    assert caps.silent_send is True


def test_text(channel: MessengerChannel) -> None:
    [ev] = parse(channel, "text")
    assert ev == Inbound(
        "messenger",
        "message",
        user_id=PSID,
        event=Event("text", text="Здравей, I need help with my passport"),
        dedup_key="m_AQHRx0aVb9Jk3Lq1text0001",
    )


def test_quick_reply_is_our_payload(channel: MessengerChannel) -> None:
    [ev] = parse(channel, "quick_reply")
    assert ev.kind == "message" and ev.user_id == PSID
    assert ev.event == Event("payload", payload="lang:bg")
    assert ev.dedup_key == "m_AQHRx0aVb9Jk3Lq1quick0002"


def test_postback(channel: MessengerChannel) -> None:
    [ev] = parse(channel, "postback")
    assert ev.event == Event("payload", payload="/start")
    assert ev.dedup_key == "m_AQHRx0aVb9Jk3Lq1postb0003" and ev.user_id == PSID


def test_postback_without_mid_gets_a_stable_key_without_the_psid(channel: MessengerChannel) -> None:
    data = json.loads(payload("postback"))
    del data["entry"][0]["messaging"][0]["postback"]["mid"]
    body = json.dumps(data).encode()
    [a] = channel.parse(body, {})
    [b] = channel.parse(body, {})
    assert a.dedup_key == b.dedup_key and a.dedup_key.startswith("postback:")
    assert PSID not in a.dedup_key
    data["entry"][0]["messaging"][0]["timestamp"] += 1  # another tap: another key
    [c] = channel.parse(json.dumps(data).encode(), {})
    assert c.dedup_key != a.dedup_key
    data["entry"][0]["messaging"][0]["timestamp"] -= 1
    data["entry"][0]["messaging"][0]["sender"]["id"] = "6512345678909999"  # same tap time, another person
    [d] = channel.parse(json.dumps(data).encode(), {})
    assert d.dedup_key != a.dedup_key


def test_image_attachment(channel: MessengerChannel) -> None:
    [ev] = parse(channel, "image")
    assert ev.event == Event("nontext", media="image")
    assert ev.dedup_key == "m_AQHRx0aVb9Jk3Lq1image0004"


def test_sticker(channel: MessengerChannel) -> None:
    [ev] = parse(channel, "sticker")
    assert ev.event == Event("nontext", media="sticker")
    assert ev.dedup_key == "m_AQHRx0aVb9Jk3Lq1stick0005"


@pytest.mark.parametrize(
    ("kind", "media"),
    [("audio", "audio"), ("video", "video"), ("file", "file"), ("location", "location"), ("fallback", "other")],
)
def test_other_attachments(channel: MessengerChannel, kind: str, media: str) -> None:
    data = json.loads(payload("image"))
    data["entry"][0]["messaging"][0]["message"]["attachments"] = [{"type": kind, "payload": {}}]
    [ev] = channel.parse(json.dumps(data).encode(), {})
    assert ev.kind == "message" and ev.event == Event("nontext", media=media)


def test_echo_is_ignored(channel: MessengerChannel) -> None:
    [ev] = parse(channel, "echo")
    assert ev.kind == "ignored" and ev.event is None


def test_delivery_gives_one_receipt_per_mid(channel: MessengerChannel) -> None:
    evs = parse(channel, "delivery")
    assert [(e.kind, e.receipt_for, e.receipt_status, e.user_id) for e in evs] == [
        ("delivery", "m_AQHRsentByPage00000000001", "delivered", PSID),
        ("delivery", "m_AQHRsentByPage00000000002", "delivered", PSID),
    ]
    assert len({e.dedup_key for e in evs}) == 2


def test_read_is_a_seen_receipt_with_the_watermark(channel: MessengerChannel) -> None:
    [ev] = parse(channel, "read")
    assert (ev.kind, ev.receipt_for, ev.receipt_status, ev.user_id) == ("delivery", "", "seen", PSID)
    assert ev.dedup_key.startswith("read:1732190006900:") and PSID not in ev.dedup_key


def test_batched_body_gives_every_message_of_every_entry_in_order(channel: MessengerChannel) -> None:
    evs = parse(channel, "batched")
    assert [(e.kind, e.user_id, e.dedup_key, e.event) for e in evs] == [
        ("message", "6512345678900001", "m_AQHRbatchE1M1000000000001", Event("text", text="hello")),
        ("message", "6512345678900002", "m_AQHRbatchE1M2000000000002", Event("text", text="здрасти")),
        ("message", "6512345678900003", "m_AQHRbatchE2M1000000000003", Event("payload", payload="menu")),
        ("message", "6512345678900001", "m_AQHRbatchE2M2000000000004", Event("text", text="my boss took my passport")),
    ]


def test_standby_and_unknown_events_are_ignored(channel: MessengerChannel) -> None:
    item = {"sender": {"id": PSID}, "recipient": {"id": "1"}, "timestamp": 1, "message": {"mid": "m_x", "text": "hi"}}
    reaction = {"sender": {"id": PSID}, "recipient": {"id": "1"}, "timestamp": 2, "reaction": {"mid": "m_y"}}
    body = {
        "object": "page",
        "entry": [{"id": "1", "time": 1, "standby": [item]}, {"id": "1", "messaging": [reaction]}],
    }
    evs = channel.parse(json.dumps(body).encode(), {})
    assert [e.kind for e in evs] == ["ignored", "ignored"]


def test_an_unreadable_item_does_not_lose_the_rest_of_the_batch(channel: MessengerChannel) -> None:
    good = {"sender": {"id": PSID}, "recipient": {"id": "1"}, "timestamp": 1, "message": {"mid": "m_x", "text": "hi"}}
    body = {"object": "page", "entry": [{"id": "1", "messaging": ["junk", {"message": {"text": "no sender"}}, good]}]}
    evs = channel.parse(json.dumps(body).encode(), {})
    assert [e.kind for e in evs] == ["ignored", "ignored", "message"]


def test_empty_entry_list(channel: MessengerChannel) -> None:
    assert channel.parse(b'{"object":"page","entry":[]}', {}) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"page"',
        b'{"entry":[]}',
        b'{"object":"instagram","entry":[]}',
        b'{"object":"user","entry":[]}',
        b'{"object":"page"}',
        b'{"object":"page","entry":{}}',
        b'{"object":"page","entry":["x"]}',
        b'{"object":"page","entry":[{"messaging":{}}]}',
    ],
)
def test_bad_bodies_raise_value_error(channel: MessengerChannel, body: bytes) -> None:
    with pytest.raises(ValueError):
        channel.parse(body, {})


def test_an_overlong_mid_becomes_a_stable_digest_that_fits_the_inbox(channel: MessengerChannel) -> None:
    data = json.loads(payload("text"))
    data["entry"][0]["messaging"][0]["message"]["mid"] = "m_" + "A" * 300
    body = json.dumps(data).encode()
    [a], [b] = channel.parse(body, {}), channel.parse(body, {})
    assert a.dedup_key == b.dedup_key and len(a.dedup_key) <= 128
