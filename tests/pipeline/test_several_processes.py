"""Two apps sharing PostgreSQL and Redis, like two `sigurno serve` processes behind one address."""

from __future__ import annotations

import asyncio

from tests.pipeline.conftest import Bots
from tests.pipeline.test_webhooks import expected_texts, inbox_statuses


async def test_an_event_delivered_to_both_processes_is_answered_once(shared_bots: Bots) -> None:
    a, b = await shared_bots.start(), await shared_bots.start()
    events = [{"id": f"dup-{i}", "user": f"p{i}", "payload": "/start"} for i in range(10)]
    statuses = await asyncio.gather(*(bot.post(e) for e in events for bot in (a, b)))
    assert statuses == [200] * 20
    await asyncio.gather(a.idle(), b.idle())
    for i in range(10):
        got = [r.text for r in a.channel.to(f"p{i}")] + [r.text for r in b.channel.to(f"p{i}")]
        assert got == expected_texts(a, "/start")
    assert await inbox_statuses(a) == ["done"] * 10


async def test_one_persons_messages_split_across_processes_are_answered_in_order(shared_bots: Bots) -> None:
    a, b = await shared_bots.start(), await shared_bots.start()
    a.channel.delay = b.channel.delay = 0.03
    taps = ["/start", "lang:en", "menu:offer", "menu", "menu:hotlines", "menu", "menu:trafficking"]
    for i, tap in enumerate(taps):  # each waits for its 200, as the platforms do, and goes to the other process
        assert await (a, b)[i % 2].post({"id": f"o-{i}", "user": "o", "payload": tap}) == 200
    await asyncio.gather(a.idle(), b.idle())
    sent = sorted([*a.channel.sent, *b.channel.sent], key=lambda s: s.at)
    assert [s.reply.text for s in sent] == expected_texts(a, *taps)


async def test_twenty_people_across_two_processes(shared_bots: Bots) -> None:
    a, b = await shared_bots.start(), await shared_bots.start()
    langs = ("bg", "en", "ru")
    posts = [
        (a, b)[i % 2].post({"id": f"t-{i}", "user": f"t{i}", "payload": f"lang:{langs[i % 3]}"}) for i in range(20)
    ]
    assert await asyncio.gather(*posts) == [200] * 20
    await asyncio.gather(a.idle(), b.idle())
    for i in range(20):
        channel = (a, b)[i % 2].channel
        assert [r.text for r in channel.to(f"t{i}")] == expected_texts(a, f"lang:{langs[i % 3]}")
