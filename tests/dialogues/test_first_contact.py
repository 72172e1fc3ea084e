"""Issue 9 point 6: any first event gets the greeting; the platform's language hint picks the first
language; an understood first message is answered right after the greeting."""

from __future__ import annotations

import pytest

from content import Content
from dialogues.types import Event
from tests.dialogues.conftest import Convo


def first(convo: Convo, event: Event) -> None:
    res = convo.engine.step(convo.state, None, event, convo.ctx)
    convo._keep(res.state, res.replies, res.effects)


@pytest.mark.parametrize(
    "event",
    [
        Event("payload", payload="/start"),
        Event("payload", payload="GET_STARTED"),  # a Messenger page's own Get Started payload
        Event("payload", payload="ref:spring-campaign"),  # a referral
        Event("payload", payload="menu:hotlines"),  # an old button from a deleted chat
        Event("nontext", media="sticker"),
        Event("nontext", media="image"),
    ],
)
async def test_any_first_event_gets_the_greeting(convo: Convo, content: Content, event: Event) -> None:
    first(convo, event)
    assert convo.last[0].text.startswith(content.text("greeting", "bg"))
    assert content.text("fallback_once", "bg") not in convo.text
    assert convo.payloads[-3:] == ["lang:bg", "lang:en", "lang:ru"]


@pytest.mark.parametrize(("hint", "lang"), [("en", "en"), ("ru", "ru"), ("en-GB", "en"), ("bg", "bg"), ("de", "bg")])
async def test_the_platform_language_hint_picks_the_first_language(
    convo: Convo, content: Content, hint: str, lang: str
) -> None:
    first(convo, Event("nontext", media="sticker", language_hint=hint))
    assert convo.last[0].text.startswith(content.text("greeting", lang))


async def test_an_emoji_first_message_uses_the_hint(convo: Convo, content: Content) -> None:
    res = convo.engine.step(
        convo.state, await convo.nlu.parse("🙂"), Event("text", text="🙂", language_hint="ru"), convo.ctx
    )
    convo._keep(res.state, res.replies, res.effects)
    assert convo.last[0].text.startswith(content.text("greeting", "ru"))


async def test_an_understood_first_message_is_answered_after_the_greeting(convo: Convo, content: Content) -> None:
    await convo.say("what is the minimum wage in Germany")
    assert convo.last[0].text.startswith(content.text("greeting", "en"))
    assert len(convo.last) >= 2
    assert content.text("choose_language", "en") not in convo.text
    assert "13" in convo.text  # the German minimum wage follows
