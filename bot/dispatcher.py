"""One inbound event: lock the conversation, understand, step, store; the replies are returned.

The same turn serves every channel (web chat, terminal, and the messaging platforms). `turn()` decides
and returns the replies with the write to make; `handle()` / `handle_locked()` also write it (the web
chat and terminal), while the webhook inbox writes it together with its own bookkeeping. Replies are
returned, not sent: the caller's channel sends them. The conversation lock comes from
bot.coordination (in-process by default, Redis across processes). A turn reads once (open case,
state) and writes once (person, incoming message, state, replies) in the common case; a turn that
opens a case or erases data writes the incoming message first, because the case needs the person.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot import metrics
from bot.coordination import Coordination, MemoryCoordination
from bot.live import Current, as_current
from bot.reports.tally import turn_tally
from bot.settings import Settings
from bot.shifts import shift_status
from bot.storage.console_repo import ConsoleRepo
from bot.storage.records import ReviewNote
from bot.storage.store import CaseRec, Store, TurnContext, TurnWrite
from content import Content
from dialogues.engine import Engine
from dialogues.types import Context, EraseData, Event, OpenCase, Reply
from nlu.pipeline import Nlu
from nlu.types import NluResult

log = logging.getLogger(__name__)

# Told of "opened" / "raised" (a case), "message" (the person wrote on an open case) and "erased" (the
# person's data, with their case if any): the console's live updates, notifications and audit listen.
CaseListener = Callable[[str, CaseRec | None], Awaitable[None]]
# Asked of each text turn, with the NLU result and the dialogue state before and after it: what goes into
# the review queue (bot/review/capture.py), written with the turn.
ReviewHook = Callable[[NluResult, dict[str, Any], dict[str, Any]], ReviewNote | None]


@dataclass(frozen=True)
class Outcome:
    replies: tuple[Reply, ...]
    person_key: str
    case_id: int | None = None  # a case opened or raised by this event
    silent: bool = False  # a mediator has the chat: the bot said nothing
    message_ids: tuple[int, ...] = ()  # the stored replies, in order (empty when the person was erased)


@dataclass(frozen=True)
class Turn:
    """One turn decided and not yet written: the caller writes `write` (in one transaction, with whatever
    it must record alongside) and then calls Dispatcher.after(turn)."""

    replies: tuple[Reply, ...]
    person_key: str
    write: TurnWrite
    case_id: int | None = None
    silent: bool = False
    told: tuple[tuple[str, CaseRec | None], ...] = ()  # what the case listeners hear once it is written


class Dispatcher:
    def __init__(
        self,
        store: Store,
        nlu: Nlu | Current[Nlu],
        content: Content | Current[Content],
        settings: Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        coordination: Coordination | None = None,
    ) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        # What a publish swaps (bot/live.py): a turn reads each once, at its start.
        self.live_nlu, self.live_content = as_current(nlu), as_current(content)
        self._engine = Engine(self.live_content.get())
        self.coordination = coordination or MemoryCoordination(settings.limits)
        self.case_listeners: list[CaseListener] = []
        self.review: ReviewHook | None = None

    @property
    def nlu(self) -> Nlu:
        return self.live_nlu.get()

    @property
    def content(self) -> Content:
        return self.live_content.get()

    @property
    def engine(self) -> Engine:
        """The dialogue engine over the content in use now (rebuilt once after a publish)."""
        content = self.live_content.get()
        if self._engine.c is not content:
            self._engine = Engine(content)
        return self._engine

    async def _tell(self, what: str, case: CaseRec | None) -> None:
        """Tell the case listeners; a failing listener never fails the person's turn."""
        for listener in self.case_listeners:
            try:
                await listener(what, case)
            except Exception:
                log.exception("case listener failed on %s", what)

    async def handle(
        self, channel: str, platform_id: str, event: Event, platform_message_id: str | None = None
    ) -> Outcome:
        """Lock the person's conversation and run one turn."""
        async with self.coordination.hold(self.store.key_for(channel, platform_id)):
            return await self.handle_locked(channel, platform_id, event, platform_message_id)

    async def handle_locked(
        self, channel: str, platform_id: str, event: Event, platform_message_id: str | None = None
    ) -> Outcome:
        """One turn, written; the caller holds the conversation lock (coordination.hold(store.key_for(...)))."""
        turn = await self.turn(channel, platform_id, event, platform_message_id)
        saved = await self.store.record_turn(turn.write)
        await self.after(turn, stale=saved.stale)
        return Outcome(turn.replies, turn.person_key, turn.case_id, turn.silent, saved.out_ids)

    async def after(self, turn: Turn, *, stale: bool = False) -> None:
        """Once the turn is written: tell the case listeners."""
        if stale:
            # Another process answered this person in between; its state stands, ours is dropped.
            log.warning("conversation state changed concurrently; keeping the newer one")
        for what, case in turn.told:
            await self._tell(what, case)

    async def turn(
        self,
        channel: str,
        platform_id: str,
        event: Event,
        platform_message_id: str | None = None,
        *,
        context: TurnContext | None = None,
    ) -> Turn:
        """Decide one turn (see _decide), counted and timed for /metrics."""
        started = time.perf_counter()
        try:
            return await self._decide(channel, platform_id, event, platform_message_id, context=context)
        finally:
            metrics.TURNS.labels(channel).inc()
            metrics.TURN_SECONDS.labels(channel).observe(time.perf_counter() - started)

    async def _decide(
        self,
        channel: str,
        platform_id: str,
        event: Event,
        platform_message_id: str | None = None,
        *,
        context: TurnContext | None = None,
    ) -> Turn:
        """Decide one turn: read the person's case and state (unless the caller read them, under the same
        lock, as `context`), understand, step. Effects that need the person (a case opened, data erased)
        are written here; the rest is returned as `Turn.write`."""
        key = self.store.key_for(channel, platform_id)
        ctx = context if context is not None else await self.store.turn_context(key)
        limit = self.settings.server.max_message_chars
        case = ctx.case
        in_case_id = case.id if case else None
        kind = "text" if event.kind == "text" else "payload" if event.kind == "payload" else (event.media or "other")
        stored_text = (
            event.text[:limit] if event.kind == "text" else event.payload[:200] if event.kind == "payload" else None
        )
        base = TurnWrite(channel, platform_id, incoming=(kind, stored_text, platform_message_id), in_case_id=in_case_id)
        new = ctx.version == 0 and case is None  # no conversation yet: a person the reports count as new

        if case is not None and case.status == "assigned":
            # A mediator has this chat: the bot stays silent, the message waits in the transcript.
            silent = dataclasses.replace(base, tally=turn_tally(channel, kind, new=False, event=event))
            return Turn((), key, silent, case.id, silent=True, told=(("message", case),))

        state, version = ctx.state, ctx.version
        lang = str(state.get("lang") or "bg")
        engine, understand = self.engine, self.nlu  # one published version for the whole turn
        if event.kind == "text" and len(event.text) > limit:
            reply = Reply(engine.c.text("too_long", lang, limit=limit))
            tally = turn_tally(channel, kind, new=new, event=event, state=state)
            write = dataclasses.replace(base, outgoing=(reply.text,), out_case_id=in_case_id, tally=tally)
            return Turn((reply,), key, write)

        nlu: NluResult | None = None
        if event.kind == "text":
            with metrics.NLU_SECONDS.time():
                nlu = await understand.parse(event.text)
        now = self.clock()
        on_shift, next_shift = shift_status(self.settings.mediators, now)
        run_ctx = Context(
            now=now,
            mediators_on_shift=on_shift,
            next_shift=next_shift,
            has_open_case=case is not None,
            retention_days=self.settings.privacy.retention_days,
        )
        result = engine.step(state, nlu, event, run_ctx)
        review = self.review(nlu, state, result.state) if nlu is not None and self.review is not None else None
        case_id = in_case_id
        opened_priority: str | None = None  # a case this turn opened, for the reports
        if result.effects:
            # The case needs the person (and the transcript the incoming message) before it opens.
            await self.store.record_turn(base)
            base = TurnWrite(channel, platform_id)
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
                    if created:
                        opened_priority = opened.priority
                    log.info("case %s %s priority=%s", opened.id, "opened" if created else "raised", effect.priority)
                    if created:
                        # The message that opened the case belongs in its transcript.
                        await ConsoleRepo(self.store).attach_trigger(opened.id, key)
                    if created or case is None or opened.priority != case.priority:
                        await self._tell("opened" if created else "raised", opened)
                elif isinstance(effect, EraseData):
                    await self.store.erase_person(key)
                    log.info("person data erased on request")
                    await self._tell("erased", case)
                    # Nothing of the person is written again (the replies are sent, not stored); the reports
                    # count the turn without marking the person as reached.
                    tally = turn_tally(channel, kind, new=new, event=event, nlu=nlu, noted=result.noted, reached=False)
                    return Turn(
                        result.replies, key, TurnWrite(channel, platform_id, touch_person=False, tally=tally), case_id
                    )
        write = dataclasses.replace(
            base,
            state=result.state,
            version=version,
            outgoing=tuple(r.text for r in result.replies),
            out_case_id=case_id,
            review=review,
            tally=turn_tally(
                channel,
                kind,
                new=new,
                event=event,
                nlu=nlu,
                noted=result.noted,
                state=result.state,
                opened=opened_priority,
            ),
        )
        # The person wrote while their case waits in the queue: the console hears of it.
        return Turn(result.replies, key, write, case_id, told=(("message", case),) if case is not None else ())
