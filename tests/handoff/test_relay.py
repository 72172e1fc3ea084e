"""The relay on the person's own channel: the real channel classes against fake platform APIs on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.channels import Channels
from bot.channels.messenger import MessengerChannel
from bot.channels.telegram import TelegramChannel
from bot.storage.models import Message
from tests.channels import harness
from tests.channels.messenger.fakegraph import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, FakeGraph, fake_graph

from .conftest import Rig

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with fake_graph() as g:
        yield g


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def platform_id_of(rig: Rig, message_id: int) -> str | None:
    async with rig.store.engine.connect() as conn:
        value = await conn.scalar(select(Message.platform_message_id).where(Message.id == message_id))
    return None if value is None else str(value)


async def test_messenger_inside_and_outside_the_24_hour_window(
    rig_factory: Any, graph: FakeGraph, http: aiohttp.ClientSession
) -> None:
    channel = MessengerChannel(PAGE_TOKEN, APP_SECRET, VERIFY_TOKEN, graph.api_url, http, timeout=5)
    rig: Rig = await rig_factory(Channels({"messenger": channel}))
    rig.clock.now = T0
    key, case_id = await rig.person_with_case("messenger", "psid-5501")
    await rig.handoff.cases.claim(case_id, "mira")  # handoff_started goes out (inside the window)

    rig.clock.now = T0 + timedelta(hours=23)
    sent = await rig.handoff.relay.to_person(key, "Hello, I am Mira, a mediator.", case_id=case_id)
    assert (sent.status, sent.error) == ("sent", None)
    assert [s.text for s in graph.to("psid-5501")] == [
        rig.handoff.content.text("handoff_started", "en"),
        "Hello, I am Mira, a mediator.",
    ]
    assert (await platform_id_of(rig, sent.message_id) or "").startswith("m_fakegraph")

    rig.clock.now = T0 + timedelta(hours=24, minutes=1)  # the person last wrote 24 h ago: the window closed
    late = await rig.handoff.relay.to_person(key, "Are you still there?", case_id=case_id)
    assert late.status == "failed" and late.error is not None and "reply window closed" in late.error
    assert len(graph.requests) == 2  # nothing was sent to Graph
    case_view = [m for m in await rig.store.messages_for_case(case_id) if m.id == late.message_id]
    assert case_view[0].delivery_status == "failed" and "24 h" in (case_view[0].delivery_error or "")
    assert not rig.handoff.relay.window_open("messenger", T0, rig.clock())

    # The person writes again: the window opens again.
    await rig.store.add_message(key, "in", "text", "yes", case_id=case_id)
    graph.behaviour["psid-5501"] = "unavailable"  # ... but Graph refuses this person now
    refused = await rig.handoff.relay.to_person(key, "Good to hear from you.", case_id=case_id)
    assert refused.status == "failed" and "messenger refused the message" in (refused.error or "")
    assert PAGE_TOKEN not in (refused.error or "")


async def test_telegram_send_goes_to_the_decrypted_chat_id(rig_factory: Any, http: aiohttp.ClientSession) -> None:
    async with harness.FakePlatform() as api:
        channel = TelegramChannel(harness.TELEGRAM_TOKEN, harness.TELEGRAM_SECRET, api.url, http, timeout=5)
        rig: Rig = await rig_factory(Channels({"telegram": channel}))
        key, case_id = await rig.person_with_case("telegram", "424242")
        sent = await rig.handoff.relay.to_person(key, "Здравейте, аз съм Мира.", case_id=case_id)
        assert sent.status == "sent"
        sends = await api.wait_for_sends(1, platform="telegram")
        assert (sends[0].user, sends[0].text) == ("424242", "Здравейте, аз съм Мира.")
        assert await platform_id_of(rig, sent.message_id) is not None

        api.behave("fail", platform="telegram")
        failed = await rig.handoff.relay.to_person(key, "Still there?", case_id=case_id)
        assert failed.status == "failed" and failed.error
        assert harness.TELEGRAM_TOKEN not in failed.error


async def test_a_channel_that_is_off_is_a_recorded_failure(rig: Rig) -> None:
    key, case_id = await rig.person_with_case("viber", "viber-user-1")
    failed = await rig.handoff.relay.to_person(key, "hello", case_id=case_id)
    assert failed.status == "failed" and "not configured" in (failed.error or "")
    stored = [m for m in await rig.store.messages_for_case(case_id) if m.id == failed.message_id]
    assert (stored[0].direction, stored[0].text, stored[0].delivery_status) == ("mediator", "hello", "failed")


async def test_web_chat_messages_wait_for_the_page(rig: Rig) -> None:
    key, case_id = await rig.person_with_case("web", "web-session-01")
    other_key, _ = await rig.person_with_case("web", "web-session-02")
    first = await rig.handoff.relay.to_person(key, "one", case_id=case_id)
    notice = await rig.handoff.relay.notice(key, "handoff_ended", case_id)
    assert (first.status, notice.status) == ("sent", "sent")
    pushed = await rig.repo.pushed_after(key, 0)
    assert [(p.direction, p.text) for p in pushed] == [
        ("mediator", "one"),
        ("out", rig.handoff.content.text("handoff_ended", "en")),
    ]
    assert [p.text for p in await rig.repo.pushed_after(key, first.message_id)] == [pushed[1].text]
    assert await rig.repo.pushed_after(other_key, 0) == []  # only that person's
    # Erasure takes the pushed messages with it.
    await rig.store.erase_person(key)
    assert await rig.repo.pushed_after(key, 0) == []
    with pytest.raises(LookupError):
        await rig.handoff.relay.to_person(key, "gone?")
