"""One inbound event, start to finish: lock the conversation, record, understand, step, store, reply.

The same path serves every channel (web chat, terminal, and the messaging platforms). Replies are
returned, not sent: the caller's channel sends them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.settings import Settings
from bot.shifts import shift_status
from bot.storage.store import StaleState, Store
from content import Content
from dialogues.engine import Engine
from dialogues.types import Context, EraseData, Event, OpenCase, Reply
from nlu.pipeline import Nlu
from nlu.types import NluResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    replies: tuple[Reply, ...]
    person_key: str
    case_id: int | None = None  # a case opened or raised by this event
    silent: bool = False  # a mediator has the chat: the bot said nothing


class KeyedLocks:
    """Per-conversation locks for one process: two quick messages are answered in order."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    async def __aenter__(self) -> None:  # pragma: no cover - use .hold()
        raise TypeError("use KeyedLocks.hold(key)")

    def hold(self, key: str) -> _Held:
        return _Held(self, key)


class _Held:
    def __init__(self, locks: KeyedLocks, key: str) -> None:
        self.locks, self.key = locks, key

    async def __aenter__(self) -> None:
        lk = self.locks._locks.setdefault(self.key, asyncio.Lock())
        self.locks._users[self.key] = self.locks._users.get(self.key, 0) + 1
        await lk.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.locks._locks[self.key].release()
        self.locks._users[self.key] -= 1
        if not self.locks._users[self.key]:
            del self.locks._users[self.key]
            del self.locks._locks[self.key]


class Dispatcher:
    def __init__(
        self,
        store: Store,
        nlu: Nlu,
        content: Content,
        settings: Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store, self.nlu, self.settings, self.clock = store, nlu, settings, clock
        self.engine = Engine(content)
        self.content = content
        self.locks = KeyedLocks()

    async def handle(
        self, channel: str, platform_id: str, event: Event, platform_message_id: str | None = None
    ) -> Outcome:
        person = await self.store.person(channel, platform_id)
        async with self.locks.hold(person.key):
            return await self._handle_locked(person.key, channel, event, platform_message_id)

    async def _handle_locked(self, key: str, channel: str, event: Event, platform_message_id: str | None) -> Outcome:
        limit = self.settings.server.max_message_chars
        case = await self.store.open_case_for(key)
        kind = "text" if event.kind == "text" else "payload" if event.kind == "payload" else (event.media or "other")
        stored_text = (
            event.text[:limit] if event.kind == "text" else event.payload[:200] if event.kind == "payload" else None
        )
        await self.store.add_message(
            key, "in", kind, stored_text, case_id=case.id if case else None, platform_message_id=platform_message_id
        )
        if case is not None and case.status == "assigned":
            # A mediator has this chat: the bot stays silent, the message waits in the transcript.
            return Outcome((), key, case.id, silent=True)

        state, version = await self.store.load_state(key)
        lang = str(state.get("lang") or "bg")
        if event.kind == "text" and len(event.text) > limit:
            reply = Reply(self.content.text("too_long", lang, limit=limit))
            await self._record_out(key, (reply,), case.id if case else None)
            return Outcome((reply,), key)

        nlu: NluResult | None = None
        if event.kind == "text":
            nlu = await self.nlu.parse(event.text)
        now = self.clock()
        on_shift, next_shift = shift_status(self.settings.mediators, now)
        ctx = Context(
            now=now,
            mediators_on_shift=on_shift,
            next_shift=next_shift,
            has_open_case=case is not None,
            retention_days=self.settings.privacy.retention_days,
        )
        result = self.engine.step(state, nlu, event, ctx)
        case_id = case.id if case else None
        erased = False
        for effect in result.effects:
            if isinstance(effect, OpenCase):
                opened, created = await self.store.open_case(
                    key,
                    priority=effect.priority,
                    signals=list(effect.signals),
                    country=effect.country,
                    channel=channel,
                )
                case_id = opened.id
                log.info("case %s %s priority=%s", opened.id, "opened" if created else "raised", effect.priority)
            elif isinstance(effect, EraseData):
                await self.store.erase_person(key)
                erased = True
                log.info("person data erased on request")
        if not erased:
            try:
                await self.store.save_state(key, result.state, version)
            except StaleState:
                # Another process answered this person in between; its state stands, ours is dropped.
                log.warning("conversation state changed concurrently; keeping the newer one")
            await self._record_out(key, result.replies, case_id)
        return Outcome(result.replies, key, case_id)

    async def _record_out(self, key: str, replies: tuple[Reply, ...], case_id: int | None) -> None:
        for r in replies:
            await self.store.add_message(key, "out", "text", r.text, case_id=case_id)
