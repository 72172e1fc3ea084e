"""Builds the handoff side of a running bot (and takes it down): repository, accounts, case service,
relay, live events (memory or Redis), notifications, timers; and hooks it into the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from bot.accounts.auth import Auth
from bot.accounts.passwords import Passwords
from bot.coordination import Coordination
from bot.dispatcher import Dispatcher
from bot.handoff.bus import Bus, MemoryBus, RedisBus
from bot.handoff.canned import CannedReply, load_canned
from bot.handoff.cases import CaseService
from bot.handoff.notify import MediatorTelegram, Notifier
from bot.handoff.relay import Registry, Relay
from bot.handoff.timers import Timers
from bot.live import Current, as_current
from bot.settings import Settings
from bot.storage.console_repo import ConsoleRepo
from bot.storage.store import CaseRec, Store
from content import Content

log = logging.getLogger(__name__)


@dataclass
class Handoff:
    settings: Settings
    store: Store
    live_content: Current[Content]  # a publish swaps it: read `content` once per use
    repo: ConsoleRepo
    auth: Auth
    relay: Relay
    notifier: Notifier
    bus: Bus
    cases: CaseService
    timers: Timers
    coordination: Coordination
    canned: tuple[CannedReply, ...]

    @property
    def content(self) -> Content:
        return self.live_content.get()


def events_channel(settings: Settings) -> str:
    """The Redis pub/sub channel: one per installation (database schema), so test runs do not mix."""
    return f"sigurno:{settings.storage.schema or 'default'}:console-events"


@contextlib.asynccontextmanager
async def open_handoff(
    settings: Settings,
    store: Store,
    content: Content | Current[Content],
    dispatcher: Dispatcher,
    *,
    channels: Registry | None = None,
    passwords: Passwords | None = None,
    run_timers: bool = True,
) -> AsyncIterator[Handoff]:
    coordination = dispatcher.coordination
    repo = ConsoleRepo(store)
    bus: Bus = (
        await RedisBus.open(settings.storage.redis_url, events_channel(settings))
        if settings.storage.redis_url
        else MemoryBus()
    )
    http: aiohttp.ClientSession | None = None
    telegram: MediatorTelegram | None = None
    if settings.console.argon2_profile == "CHEAPEST":
        log.warning("console.argon2_profile is CHEAPEST: password hashes are weak (meant for tests only)")
    telegram_token = settings.channels.telegram_token.get_secret_value()
    if settings.console.mediator_telegram_chat and telegram_token:
        http = aiohttp.ClientSession()
        telegram = MediatorTelegram(
            telegram_token,
            settings.console.mediator_telegram_chat,
            settings.channels.telegram_api_url,
            http,
        )
    elif settings.console.mediator_telegram_chat:
        log.warning("SIGURNO_MEDIATOR_TELEGRAM_CHAT is set but SIGURNO_TELEGRAM_TOKEN is not: no Telegram alerts")
    notifier = Notifier(bus, telegram)
    live_content = as_current(content)
    relay = Relay(store, repo, live_content, channels)
    cases = CaseService(store, repo, relay, notifier, coordination)
    timers = Timers(
        store,
        repo,
        cases,
        relay,
        notifier,
        settings.mediators,
        coordination,
        settings.console.timer_seconds,
        settings.privacy.retention_days,
    )
    handoff = Handoff(
        settings=settings,
        store=store,
        live_content=live_content,
        repo=repo,
        auth=Auth(
            repo, passwords or Passwords(profile=settings.console.argon2_profile), coordination, settings.console
        ),
        relay=relay,
        notifier=notifier,
        bus=bus,
        cases=cases,
        timers=timers,
        coordination=coordination,
        canned=load_canned(settings.content.dir),
    )

    async def on_case(what: str, case: CaseRec | None) -> None:
        """The dispatcher's news: a case opened or raised, a message from the person, an erasure."""
        if what == "erased":
            await repo.audit("person", "erasure", case_id=case.id if case else None)
            if case is not None:
                await notifier.erased(case.id)
        elif case is None:
            return
        elif what in ("opened", "raised"):
            await notifier.case_opened(case, raised=what == "raised")
        elif what == "message":
            await notifier.message(case, "in")

    dispatcher.case_listeners.append(on_case)
    task = asyncio.create_task(timers.run(), name="handoff-timers") if run_timers else None
    try:
        yield handoff
    finally:
        dispatcher.case_listeners.remove(on_case)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await notifier.close()
        await bus.close()
        if http is not None:
            await http.close()
