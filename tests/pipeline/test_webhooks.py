"""The webhook pipeline through the real app: verify, dedup, acknowledge, background answers, delivery records."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bot.channels import render
from bot.channels.base import Inbound
from bot.inbox import answer_body, inbound_body
from bot.storage.store import Delivery, InboxMark, MessageRec
from bot.web.app import SERVICES
from dialogues.types import Context, Event
from tests.pipeline.conftest import Bot, Bots, FakeChannel, body_of, sign

FUTURE = datetime.now(UTC) + timedelta(days=1)


def expected_texts(bot: Bot, *payloads: str) -> list[str]:
    """What a new person who taps `payloads` in turn should be sent, fitted to the fake channel."""
    dispatcher = bot.app[SERVICES].dispatcher
    state: dict[str, Any] = {}
    out: list[str] = []
    for p in payloads:
        result = dispatcher.engine.step(state, None, Event("payload", payload=p), Context(now=dispatcher.clock()))
        state = dict(result.state)
        out += [part.text for parts in render.fit(result.replies, bot.channel.capabilities) for part in parts]
    return out


def sent_texts(channel: FakeChannel, user: str) -> list[str]:
    return [r.text for r in channel.to(user)]


async def inbox_statuses(bot: Bot) -> list[str]:
    async with bot.store.engine.connect() as conn:
        return [str(r[0]) for r in await conn.execute(text("SELECT status FROM inbox ORDER BY id"))]


async def outgoing(bot: Bot, user: str) -> list[MessageRec]:
    return [m for m in await bot.store.transcript(bot.store.key_for("fake", user)) if m.direction == "out"]


async def test_a_bad_or_missing_signature_is_403_and_nothing_is_processed(bot: Bot) -> None:
    body = body_of({"id": "m1", "user": "u1", "payload": "/start"})
    assert await bot.post(raw=body, headers={"X-Fake-Signature": "0" * 64}) == 403
    assert await bot.post(raw=body, headers={}) == 403
    assert await bot.post(raw=body + b" ", headers=sign(body)) == 403  # signed body altered on the way
    await bot.idle()
    assert bot.channel.attempts == []
    assert await inbox_statuses(bot) == []
    assert await bot.store.get_person(bot.store.key_for("fake", "u1")) is None
    # A forged copy did not use up the event's dedup key: the genuine delivery is answered.
    assert await bot.post({"id": "m1", "user": "u1", "payload": "/start"}) == 200
    await bot.idle()
    assert sent_texts(bot.channel, "u1") == expected_texts(bot, "/start")


async def test_a_body_that_is_not_the_platforms_is_400(bot: Bot) -> None:
    for raw in (b"[1, 2]", b"not json", b'{"no": "events"}'):
        assert await bot.post(raw=raw) == 400
    assert bot.channel.attempts == []


async def test_a_body_over_the_limit_is_413(bot: Bot) -> None:
    big = body_of({"id": "m1", "user": "u1", "text": "x" * 20_000})
    assert await bot.post(raw=big) == 413
    await bot.idle()
    assert bot.channel.attempts == [] and await inbox_statuses(bot) == []


async def test_a_redelivered_event_is_answered_once_even_after_a_restart(bots: Bots) -> None:
    bot = await bots.start()
    event = {"id": "u1-1", "user": "u1", "payload": "/start"}
    assert await bot.post(event) == 200
    assert await bot.post(event) == 200
    assert await bot.post(event, event) == 200  # twice in one body
    await bot.idle()
    assert sent_texts(bot.channel, "u1") == expected_texts(bot, "/start")
    await bots.stop(bot)

    again = await bots.start()  # a new process: its in-memory dedup is empty, the inbox table is not
    assert await again.post(event) == 200
    await again.idle()
    assert again.channel.attempts == []
    assert await inbox_statuses(again) == ["done"]


async def test_twenty_people_at_once_each_get_their_own_answer(bot: Bot) -> None:
    langs = ("bg", "en", "ru")
    users = {f"person{i}": langs[i % 3] for i in range(20)}
    statuses = await asyncio.gather(
        *(bot.post({"id": f"{u}-1", "user": u, "payload": f"lang:{lang}"}) for u, lang in users.items())
    )
    assert statuses == [200] * 20
    await bot.idle()
    for user, lang in users.items():
        assert sent_texts(bot.channel, user) == expected_texts(bot, f"lang:{lang}"), user
    assert await inbox_statuses(bot) == ["done"] * 20


async def test_a_failing_or_hanging_platform_does_not_hold_up_the_others(bot: Bot) -> None:
    ch = bot.channel
    ch.fail_for, ch.hang_for, ch.permanent_for, ch.hang_seconds = {"bad"}, {"slow"}, {"blocked"}, 2.0
    others = [f"ok{i}" for i in range(8)]
    started = time.monotonic()
    events = [{"id": f"{u}-1", "user": u, "payload": "/start"} for u in ["slow", "bad", "blocked", *others]]
    assert await asyncio.gather(*(bot.post(e) for e in events)) == [200] * len(events)
    while any(len(ch.to(u)) < 2 for u in others):
        assert time.monotonic() - started < ch.hang_seconds, "the others waited for the hanging platform"
        await asyncio.sleep(0.01)
    await bot.idle()

    for user in others:
        out = await outgoing(bot, user)
        assert [m.delivery_status for m in out] == ["sent", "sent"]
        assert all(m.platform_message_id for m in out)
    bad = await outgoing(bot, "bad")
    assert [m.delivery_status for m in bad] == ["failed", "failed"]  # the loop went on after a failure
    assert all(m.delivery_error == "fake: HTTP 500" for m in bad)
    slow = await outgoing(bot, "slow")
    assert [m.delivery_status for m in slow] == ["failed", "failed"]
    assert all(m.delivery_error and "no answer" in m.delivery_error for m in slow)
    blocked = await outgoing(bot, "blocked")
    assert [m.delivery_status for m in blocked] == ["failed", "failed"]
    assert ch.attempts.count("blocked") == 1  # permanent: the second reply was not tried
    assert await inbox_statuses(bot) == ["done"] * len(events)


async def test_quick_messages_from_one_person_are_answered_in_order(bot: Bot) -> None:
    bot.channel.delay = 0.03  # slow sends: a second message handled alongside would overtake
    taps = ["/start", "lang:en", "menu:offer", "menu", "menu:hotlines"]
    for i, tap in enumerate(taps):
        assert await bot.post({"id": f"o-{i}", "user": "o", "payload": tap}) == 200
    await bot.idle()
    assert sent_texts(bot.channel, "o") == expected_texts(bot, *taps)


async def test_a_person_over_the_rate_limit_is_recorded_not_answered(bots: Bots) -> None:
    settings = dataclasses.replace(bots.settings, limits=dataclasses.replace(bots.settings.limits, person_per_minute=3))
    bot = await bots.start(settings=settings)
    for i in range(5):
        assert await bot.post({"id": f"r-{i}", "user": "r", "text": "zdravei"}) == 200
    await bot.idle()
    assert await inbox_statuses(bot) == ["done"] * 3 + ["limited"] * 2
    transcript = await bot.store.transcript(bot.store.key_for("fake", "r"))
    assert sum(m.direction == "in" for m in transcript) == 5  # nothing the person wrote is lost
    assert await bot.post({"id": "x-1", "user": "someone-else", "payload": "/start"}) == 200
    await bot.idle()
    assert bot.channel.to("someone-else")


async def test_receipts_update_deliveries_and_subscriptions_are_only_recorded(bot: Bot) -> None:
    assert await bot.post({"id": "d-1", "user": "d", "payload": "/start"}) == 200
    await bot.idle()
    first, second = await outgoing(bot, "d")
    assert first.platform_message_id and second.platform_message_id
    sends = len(bot.channel.attempts)
    assert (
        await bot.post(
            {"id": "rc-1", "kind": "delivery", "user": "d", "receipt_for": first.platform_message_id, "status": "seen"},
            {
                "id": "rc-2",
                "kind": "delivery",
                "user": "d",
                "receipt_for": second.platform_message_id,
                "status": "delivered",
            },
            {"id": "sub-1", "kind": "subscribed", "user": "d"},
            {"id": "ign-1", "kind": "ignored"},
        )
        == 200
    )
    await bot.idle()
    assert [m.delivery_status for m in await outgoing(bot, "d")] == ["seen", "delivered"]
    assert len(bot.channel.attempts) == sends  # nothing answered
    assert await inbox_statuses(bot) == ["done"] * 4


async def test_unfinished_events_resume_at_start_up(bots: Bots) -> None:
    bot = await bots.start()
    store = bot.store
    # A crash after the 200: taken in, never handled.
    crashed = Inbound("fake", "message", "u9", Event("payload", payload="/start"), "crash-1")
    await store.inbox_add(
        "fake", [("crash-1", "message", inbound_body(crashed), "received", store.key_for("fake", "u9"))]
    )
    # A crash in the middle of sending: answered and stored, the first reply sent, the second not.
    (taken,) = await store.inbox_add("fake", [("crash-2", "message", "{}", "received", store.key_for("fake", "u8"))])
    assert taken is not None
    turn = await bot.app[SERVICES].dispatcher.turn("fake", "u8", Event("payload", payload="/start"), "crash-2")
    answer = InboxMark(taken, answer_body("u8", turn.replies))
    saved = await store.record_turn(dataclasses.replace(turn.write, inbox=answer))
    assert len(saved.out_ids) == 2
    await store.record_deliveries([Delivery(saved.out_ids[0], "sent", "earlier")])
    await bots.stop(bot)

    again = await bots.start()
    await again.idle()
    assert sent_texts(again.channel, "u9") == expected_texts(again, "/start")
    assert sent_texts(again.channel, "u8") == expected_texts(again, "/start")[1:]  # only what was not sent
    assert await inbox_statuses(again) == ["done", "done"]


async def test_shutdown_leaves_a_hung_send_to_resume_at_the_next_start(bots: Bots) -> None:
    hanging = FakeChannel(hang_for={"h"}, hang_seconds=60)
    bot = await bots.start(hanging)
    assert await bot.post({"id": "h-1", "user": "h", "payload": "/start"}) == 200
    while "h" not in hanging.attempts:
        await asyncio.sleep(0.01)
    bot.pipeline.shutdown_grace = 0.2
    started = time.monotonic()
    await bots.stop(bot)
    assert time.monotonic() - started < 5
    again = await bots.start()  # resumes the unfinished answer on start-up
    await again.idle()
    assert await inbox_statuses(again) == ["done"]
    assert sent_texts(again.channel, "h") == expected_texts(again, "/start")
