"""A publish reaches a running bot without a restart (bot/live.py, bot/storage/published.py).

The running app's follower is given a loader for "content" that builds a changed copy of the content;
once a publish bumps the version, the next conversation is answered from the new copy, on SQLite and
on PostgreSQL + Redis. A loader that fails leaves the old content answering.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from bot.live import CONTENT, Current, Follower
from bot.storage.published import PublishedRepo
from bot.web.app import SERVICES
from content import Content, Localized
from tests.handoff.conftest import Client, chat, sid

MARK = "[published]"


def marked(content: Content) -> Content:
    """The same content with every text (greetings included) starting with MARK."""
    texts = {k: Localized({lang: f"{MARK} {v}" for lang, v in t.values.items()}) for k, t in content.texts.items()}
    return dataclasses.replace(content, texts=texts)


async def wait_for(predicate: object, seconds: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not predicate():  # type: ignore[operator]
        assert loop.time() < end, "the publish did not arrive in time"
        await asyncio.sleep(0.02)


async def test_a_publish_changes_the_next_answer_without_a_restart(client: Client) -> None:
    assert client.app is not None
    svc = client.app[SERVICES]
    before = await chat(client, sid(), text="zdravei")
    assert not any(MARK in t for t in before)

    original = svc.content.get()
    loads: list[int] = []

    async def load(version: int) -> Content:
        loads.append(version)
        return marked(original)

    svc.follower.follow(CONTENT, svc.content, load)
    svc.follower.start()
    version = await svc.published.bump(CONTENT)
    assert version == 1
    await wait_for(lambda: svc.content.version == version)

    after = await chat(client, sid(), text="zdravei")
    assert after and after[0].startswith(MARK)
    assert loads == [1]  # loaded once, not on every poll


async def test_a_failing_loader_keeps_the_old_content_and_logs_no_text(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    assert client.app is not None
    svc = client.app[SERVICES]
    original = svc.content.get()
    current: Current[Content] = Current(original)

    async def broken(version: int) -> Content:
        raise ValueError("texts.yml: greeting: secret draft text")

    follower = Follower(PublishedRepo(svc.store), interval=0.05)
    follower.follow(CONTENT, current, broken)
    await svc.published.bump(CONTENT)
    with caplog.at_level(logging.INFO):
        in_use = await follower.refresh()
        again = await follower.refresh()  # retried later, not on every tick
    assert in_use == again == {CONTENT: 0}
    assert current.get() is original
    failures = [r for r in caplog.records if "could not load" in r.getMessage()]
    assert len(failures) == 1
    assert "secret draft" not in caplog.text
