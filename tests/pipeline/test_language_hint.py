"""The platform's language hint survives the inbox (an event is kept there until it is handled)."""

from __future__ import annotations

from bot.channels.base import Inbound
from bot.webhooks import inbound_body, parse_inbound_body
from dialogues.types import Event


def test_a_kept_event_keeps_its_language_hint() -> None:
    ib = Inbound("telegram", "message", user_id="1", event=Event("nontext", media="sticker", language_hint="en"))
    back = parse_inbound_body("telegram", "k", inbound_body(ib))
    assert back.event is not None and back.event.language_hint == "en"


def test_an_event_kept_before_hints_existed_still_reads() -> None:
    body = '{"kind": "message", "user_id": "1", "event": ["text", "hi", "", ""], "receipt": ["", "", ""], "callback_id": ""}'
    back = parse_inbound_body("viber", "k", body)
    assert back.event == Event("text", text="hi") and back.event.language_hint == ""
