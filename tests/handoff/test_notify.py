"""Notifications to mediators: live events always; the optional Telegram chat, with no personal data."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.handoff.bus import MemoryBus
from bot.handoff.notify import MediatorTelegram, Notifier
from bot.settings import SettingsError, load_settings
from bot.storage.store import CaseRec
from tests.channels import harness
from tests.conftest import ROOT

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
CASE = CaseRec(12, "f" * 32, "queued", "urgent", ("confinement",), "DE", "viber", T0, T0, None, None, None)


async def test_urgent_cases_reach_the_mediators_telegram_chat_without_personal_data() -> None:
    async with harness.FakePlatform() as api, aiohttp.ClientSession() as http:
        bus = MemoryBus()
        sub = bus.subscribe()
        notifier = Notifier(bus, MediatorTelegram(harness.TELEGRAM_TOKEN, "-100200300", api.url, http))
        await notifier.case_opened(CASE)
        await notifier.case_opened(dataclasses.replace(CASE, id=13, priority="high"))  # not urgent: console only
        await notifier.realert(CASE, 10)
        sends = await api.wait_for_sends(2, platform="telegram")
        assert [(s.user, s.text) for s in sends] == [
            ("-100200300", "New urgent case #12 (DE, viber) — open the console"),
            ("-100200300", "Urgent case #12 (DE, viber) waits for 10 min — open the console"),
        ]
        events = [await asyncio.wait_for(sub.get(), 1) for _ in range(3)]
        assert [(e.type, e.case_id, e.change) for e in events if e is not None] == [
            ("case_opened", 12, "opened"),
            ("case_opened", 13, "opened"),
            ("case_updated", 12, "realert"),
        ]
        assert CASE.person_key not in repr(events) + repr([s.body for s in sends])

        api.behave("fail", platform="telegram")  # a Telegram failure is logged, never raised
        await notifier.case_opened(dataclasses.replace(CASE, id=14))
        await notifier.close()
        await bus.close()
        last = await sub.get()
        assert last is not None and last.case_id == 14
        assert await sub.get() is None  # the bus closed: the stream ends


def test_the_mediator_chat_setting() -> None:
    config = ROOT / "config.yml"
    assert load_settings(config, env={}).console.mediator_telegram_chat == ""
    s = load_settings(config, env={"SIGURNO_MEDIATOR_TELEGRAM_CHAT": "-1001234567890"})
    assert s.console.mediator_telegram_chat == "-1001234567890"
    with pytest.raises(SettingsError, match="SIGURNO_MEDIATOR_TELEGRAM_CHAT"):
        load_settings(config, env={"SIGURNO_MEDIATOR_TELEGRAM_CHAT": "https://t.me/x"})
    secure = load_settings(config, env={"SIGURNO_CONSOLE_SECURE_COOKIES": "true"})
    assert secure.console.secure_cookies is True
