"""The durable inbox: the one owner of "once and in order" for webhook events.

    take in    the body's events go into the inbox table in one commit; its unique (channel, platform key)
               decides what is a redelivery (nothing else is asked first), then the platform gets its 200
    per person the person's events are handled oldest first, one at a time, by whichever process holds
               the person's conversation lock (coordination.hold): take the next unfinished row, handle
               it, repeat until none is left. That is the only ordering mechanism: every process that
               takes in an event of the person just asks for a drain.
    handle     'received': Dispatcher.turn, then its write together with the row moving on (to 'answered'
               with the answer kept encrypted, or to 'done' when the bot says nothing) in ONE commit;
               'answered': send what has no outcome yet. Each reply's outcome is recorded as soon as it
               is known (the last with the row done), so after a crash only the reply that was being
               sent at that instant can go out again.
    failing    a row that fails MAX_ATTEMPTS times is set aside ('failed', counted and listed for admins
               in the console API) and the person's next event goes on
    resuming   at start-up every person with unfinished rows is drained; later a sweep picks up rows
               left untouched for STALE_AFTER seconds (a failed database call, a crashed process)

Delivery receipts update the message they name (no order needed); subscribed/unsubscribed are recorded
only; Viber's conversation_started is answered in the HTTP response (see Pipeline.welcome).
Logs carry the channel and internal inbox ids and exception types: never text, raw ids or tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.channels import Channels, render
from bot.channels.base import Channel, Inbound, SendError
from bot.reports.ops import count_send_failure
from bot.settings import Settings
from bot.storage.store import Delivery, InboxMark, InboxMoved, InboxRec, TurnContext, TurnWrite, reason
from bot.wiring import Services
from dialogues.types import Button, Event, Reply

log = logging.getLogger(__name__)

START = Event("payload", payload="/start")
MAX_ATTEMPTS = 3  # a row that failed this many times is set aside
RETRY_PAUSE = 0.25  # seconds before the next attempt, times the attempts so far
SWEEP_EVERY = 15.0  # seconds between looks for rows left unfinished
STALE_AFTER = 10.0  # an unfinished row untouched this long is drained again (the lock keeps processes apart)
PRUNE_EVERY = 40  # sweeps between deletions of dedup records older than channels.dedup_hours
WELCOME_SECONDS = 4.0  # Viber waits about 5 s for the conversation_started response
SHUTDOWN_GRACE = 10.0  # seconds running work gets to finish on shutdown (the rest resumes at start-up)
NEEDS_WORK = ("message", "delivery", "conversation_started")
PERSONAL = ("message", "conversation_started")  # kinds answered in the person's order


# -- what the inbox keeps (encrypted) ------------------------------------------------------------------


def inbound_body(ib: Inbound) -> str:
    """An event as kept until it is handled."""
    ev = ib.event
    return json.dumps(
        {
            "kind": ib.kind,
            "user_id": ib.user_id,
            "event": None if ev is None else [ev.kind, ev.text, ev.payload, ev.media, ev.language_hint],
            "receipt": [ib.receipt_for, ib.receipt_status, ib.receipt_error],
            "callback_id": ib.callback_id,
        },
        ensure_ascii=False,
    )


def parse_inbound_body(channel: str, key: str, body: str) -> Inbound:
    d = json.loads(body)
    ev = d["event"]
    receipt_for, receipt_status, receipt_error = d["receipt"]
    return Inbound(
        channel=channel,
        kind=d["kind"],
        user_id=d["user_id"],
        event=None if ev is None else Event(ev[0], text=ev[1], payload=ev[2], media=ev[3], language_hint=_hint(ev)),
        dedup_key=key,
        receipt_for=receipt_for,
        receipt_status=receipt_status,
        receipt_error=receipt_error,
        callback_id=d["callback_id"],
    )


def _hint(ev: list[str]) -> str:
    """The platform's language hint of a kept event (events kept before it was added have none)."""
    return ev[4] if len(ev) > 4 and isinstance(ev[4], str) else ""


def answer_body(platform_id: str, replies: tuple[Reply, ...]) -> str:
    """An answer as kept until it is sent (the store adds the ids of the stored replies)."""
    return json.dumps(
        {
            "user_id": platform_id,
            "replies": [
                {"text": r.text, "buttons": [[b.title, b.payload] for b in r.buttons], "sensitive": r.sensitive}
                for r in replies
            ],
        },
        ensure_ascii=False,
    )


def parse_answer_row(body: str) -> tuple[str, tuple[Reply, ...], tuple[int, ...]]:
    """An 'answered' row's body: (platform id, replies, their message ids)."""
    row = json.loads(body)
    data = json.loads(row["answer"])
    replies = tuple(
        Reply(r["text"], tuple(Button(t, p) for t, p in r["buttons"]), bool(r["sensitive"])) for r in data["replies"]
    )
    return str(data["user_id"]), replies, tuple(int(i) for i in row["message_ids"])


def _reason(e: BaseException) -> str:
    """What goes into delivery_error: the channel's own message (never secret by contract) or the error type."""
    if isinstance(e, SendError):
        return str(e)[:500] or type(e).__name__
    if isinstance(e, TimeoutError):
        return "timed out"
    return type(e).__name__


def _kind_and_text(event: Event, limit: int) -> tuple[str, str | None]:
    kind = "text" if event.kind == "text" else "payload" if event.kind == "payload" else (event.media or "other")
    text = event.text[:limit] if event.kind == "text" else event.payload[:200] if event.kind == "payload" else None
    return kind, text


class Pipeline:
    """Takes webhook events into the durable inbox and answers them, per person in order (module doc)."""

    def __init__(self, services: Services, channels: Channels, settings: Settings) -> None:
        self.services = services
        self.store = services.store
        self.dispatcher = services.dispatcher
        self.coordination = services.coordination
        self.channels = channels
        self.settings = settings
        self.dedup_seconds = settings.channels.dedup_hours * 3600
        self.send_deadline = settings.channels.send_timeout_seconds * 3 + 5  # channels may retry within a send
        self.tasks: set[asyncio.Task[None]] = set()
        self._draining: dict[str, bool] = {}  # person key -> more was taken in while the drain ran
        self._limited: set[int] = set()  # rows over their person's rate limit: recorded, not answered
        self._sweeper: asyncio.Task[None] | None = None
        self.shutdown_grace = SHUTDOWN_GRACE
        self._closing = False
        self.warned_bad_ip = False

    # -- lifetime ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume what a previous run left unfinished, then keep sweeping now and then."""
        await self.sweep(datetime.now(UTC))
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking work; let running work finish for `grace` seconds (shutdown_grace), then cancel the
        rest (it stays unfinished in the inbox and resumes at the next start)."""
        grace = self.shutdown_grace if grace is None else grace
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("shutdown: %d task(s) left unfinished; they resume at the next start", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until every background task has finished (tests and the benchmark)."""
        while self.tasks:
            await asyncio.gather(*set(self.tasks), return_exceptions=True)

    async def _sweep_forever(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            rounds += 1
            try:
                await self.sweep(datetime.now(UTC) - timedelta(seconds=STALE_AFTER))
                if rounds % PRUNE_EVERY == 0:
                    pruned = await self.store.prune_inbox(datetime.now(UTC) - timedelta(seconds=self.dedup_seconds))
                    if pruned:
                        log.info("inbox: %d old dedup record(s) pruned", pruned)
            except Exception as e:
                log.error("inbox sweep failed (%s); trying again later", reason(e))

    async def sweep(self, updated_before: datetime) -> int:
        """Drain the people with rows untouched since `updated_before`, and handle such receipts; returns how
        many people were drained."""
        for rec in await self.store.inbox_pending(updated_before):
            if self._closing:
                return 0
            if rec.person_key is None and rec.kind == "delivery" and rec.body is not None:
                channel = self.channels.get(rec.channel)
                if channel is not None:
                    ib = parse_inbound_body(rec.channel, rec.key, rec.body)
                    self._track(self._guard(channel, rec.id, self._receipt(channel, rec.id, ib)))
            elif rec.person_key is None:
                await self.store.inbox_finish(rec.id, "done")  # nothing to answer it with
        people = await self.store.inbox_people(updated_before)
        for channel_name, person in people:
            self.drain(channel_name, person)
        return len(people)

    # -- taking events in --------------------------------------------------------------------------

    def _accept(self, channel: Channel, ib: Inbound) -> Inbound | None:
        if ib.kind == "ignored":
            return None
        if (ib.kind in PERSONAL and not ib.user_id) or (ib.kind == "message" and ib.event is None):
            log.warning("%s: a message event without a sender or content was dropped", channel.name)
            return None
        if not ib.dedup_key:
            # No platform id to recognise a redelivery by: handled, but a retry would be answered again.
            log.warning("%s: an event without a platform id (no dedup possible)", channel.name)
            return dataclasses.replace(ib, dedup_key="nokey:" + secrets.token_hex(12))
        return ib

    async def receive(self, channel: Channel, inbounds: list[Inbound]) -> tuple[int, dict[str, Any]]:
        """Store a verified body's events (one commit), start their handling; (HTTP status, JSON body)."""
        fresh = [ib for ib in (self._accept(channel, x) for x in inbounds) if ib is not None]
        if not fresh:
            return 200, {}
        items = [
            (
                ib.dedup_key,
                ib.kind,
                inbound_body(ib) if ib.kind in NEEDS_WORK else None,
                "received" if ib.kind in NEEDS_WORK else "done",
                self.store.key_for(channel.name, ib.user_id) if ib.kind in PERSONAL else None,
            )
            for ib in fresh
        ]
        try:
            ids = await self.store.inbox_add(channel.name, items)
        except Exception as e:
            log.error("%s: events could not be stored (%s); the platform will retry", channel.name, reason(e))
            return 503, {"error": "try again"}
        welcome: dict[str, Any] | None = None
        for ib, inbox_id in zip(fresh, ids, strict=True):
            if inbox_id is None:
                continue  # taken in before: a redelivery
            person = self.store.key_for(channel.name, ib.user_id)
            if ib.kind == "message":
                if not await self.coordination.allow(person):
                    log.warning("%s: a person is over the message rate limit; recorded, not answered", channel.name)
                    self._limited.add(inbox_id)
                self.drain(channel.name, person)
            elif ib.kind == "conversation_started":
                welcome = await self.welcome(channel, inbox_id, ib) or welcome
            elif ib.kind == "delivery":
                self._track(self._guard(channel, inbox_id, self._receipt(channel, inbox_id, ib)))
            else:
                log.info("%s: a person %s", channel.name, ib.kind)
        return 200, welcome or {}

    async def welcome(self, channel: Channel, inbox_id: int, ib: Inbound) -> dict[str, Any] | None:
        """Viber: the conversation's first message goes in the HTTP response, not through the send API.
        When it cannot be prepared in time, the row stays 'received' and is answered like a message."""
        person = self.store.key_for(channel.name, ib.user_id)
        build: Callable[[tuple[Reply, ...]], dict[str, Any]] | None = getattr(channel, "welcome_body", None)
        if build is None:
            self.drain(channel.name, person)
            return None
        try:
            async with asyncio.timeout(WELCOME_SECONDS), self.coordination.hold(person):
                turn = await self.dispatcher.turn(channel.name, ib.user_id, ib.event or START, ib.dedup_key)
                saved = await self.store.record_turn(dataclasses.replace(turn.write, inbox=InboxMark(inbox_id, None)))
                await self.dispatcher.after(turn, stale=saved.stale)
            if not turn.replies:
                return None
            body = build(turn.replies)
            await self.store.record_deliveries([Delivery(mid, "sent") for mid in saved.out_ids])
            return body
        except Exception as e:
            log.error("%s: the welcome message could not be prepared (inbox %d, %s)", channel.name, inbox_id, reason(e))
            self.drain(channel.name, person)
            return None

    # -- one person's events, in order ----------------------------------------------------------------

    def drain(self, channel_name: str, person: str) -> None:
        """Handle the person's unfinished rows, oldest first (here, or wherever the person's lock is held)."""
        if self._closing:
            return
        if person in self._draining:
            self._draining[person] = True  # the running drain looks again before it ends
            return
        self._draining[person] = False
        self._track(self._drain(channel_name, person))

    async def _drain(self, channel_name: str, person: str) -> None:
        try:
            while True:
                self._draining[person] = False
                async with self.coordination.hold(person):
                    more = True
                    while more and not self._closing:
                        rec, more, context = await self.store.inbox_next(person)
                        if rec is None:
                            break
                        self._draining[person] = False
                        finished = await self._handle(channel_name, rec, context)
                        # Look again if more rows were waiting, more came in here meanwhile, or this one is to
                        # be tried again; rows taken in by another process come with that process's own drain.
                        more = more or self._draining[person] or not finished
                if self._closing or not self._draining[person]:
                    return
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # The rows stay unfinished: the sweep drains this person again later.
            log.error("%s: a person's events could not be handled now (%s); retried later", channel_name, reason(e))
        finally:
            self._draining.pop(person, None)

    async def _handle(self, channel_name: str, rec: InboxRec, context: TurnContext) -> bool:
        """Handle one row; False when it failed and is to be tried again."""
        channel = self.channels.get(rec.channel)
        if channel is None:
            raise RuntimeError(f"the {rec.channel} channel is off")
        try:
            if rec.body is None:
                raise ValueError("an unfinished inbox row without its event")
            if rec.status == "answered":
                await self._send_answer(channel, rec)
            else:
                await self._answer(channel, rec, parse_inbound_body(rec.channel, rec.key, rec.body), context)
        except asyncio.CancelledError:
            raise
        except InboxMoved:
            return True  # handled meanwhile by another process (its lock had expired)
        except Exception as e:
            attempts = await self.store.inbox_retry(rec.id)
            log.warning(
                "%s: inbox %d failed (%s), attempt %d of %d",
                channel.name,
                rec.id,
                reason(e),
                attempts or 0,
                MAX_ATTEMPTS,
            )
            if attempts is not None and attempts >= MAX_ATTEMPTS:
                await self._set_aside(rec, reason(e))
                return True
            await asyncio.sleep(RETRY_PAUSE * (attempts or 1))
            return False
        return True

    async def _set_aside(self, rec: InboxRec, why: str) -> None:
        await self.store.inbox_finish(rec.id, "failed")
        self._limited.discard(rec.id)
        log.error(
            "%s: inbox %d set aside after %d attempts (%s); the person's next events go on",
            rec.channel,
            rec.id,
            MAX_ATTEMPTS,
            why,
        )

    async def _answer(self, channel: Channel, rec: InboxRec, ib: Inbound, context: TurnContext) -> None:
        event = ib.event or START
        acknowledge = getattr(channel, "acknowledge", None)
        if acknowledge is not None and ib.callback_id and rec.attempts == 0:
            try:
                await acknowledge(ib)  # Telegram: stop the button's spinner
            except Exception as e:
                log.warning("%s: acknowledging a button tap failed (%s)", channel.name, type(e).__name__)
        if rec.id in self._limited:
            kind, text = _kind_and_text(event, self.settings.server.max_message_chars)
            write = TurnWrite(channel.name, ib.user_id, incoming=(kind, text, ib.dedup_key))
            await self.store.record_turn(dataclasses.replace(write, inbox=InboxMark(rec.id, None, "limited")))
            self._limited.discard(rec.id)
            return
        turn = await self.dispatcher.turn(channel.name, ib.user_id, event, ib.dedup_key, context=context)
        answer = answer_body(ib.user_id, turn.replies) if turn.replies else None
        saved = await self.store.record_turn(dataclasses.replace(turn.write, inbox=InboxMark(rec.id, answer)))
        await self.dispatcher.after(turn, stale=saved.stale)
        if turn.replies:
            await self.deliver(channel, ib.user_id, turn.replies, saved.out_ids, rec.id)

    async def _send_answer(self, channel: Channel, rec: InboxRec) -> None:
        """Finish sending a stored answer: only the replies with no outcome yet."""
        user_id, replies, message_ids = parse_answer_row(rec.body or "")
        waiting = await self.store.undelivered(message_ids) if message_ids else None
        await self.deliver(channel, user_id, replies, message_ids, rec.id, only=waiting)

    # -- receipts and sends --------------------------------------------------------------------------

    def _track(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guard(self, channel: Channel, inbox_id: int, work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.error("%s: inbox %d could not be handled (%s); the sweep retries it", channel.name, inbox_id, reason(e))

    async def _receipt(self, channel: Channel, inbox_id: int, ib: Inbound) -> None:
        if ib.receipt_for and ib.receipt_status in ("delivered", "seen", "failed"):
            await self.store.set_delivery_by_platform_id(
                channel.name, ib.receipt_for, ib.receipt_status, ib.receipt_error or None, platform_id=ib.user_id
            )
        await self.store.inbox_finish(inbox_id, "done")

    async def deliver(
        self,
        channel: Channel,
        user_id: str,
        replies: tuple[Reply, ...],
        message_ids: tuple[int, ...],
        inbox_id: int | None,
        *,
        only: set[int] | None = None,
    ) -> None:
        """Send each reply (fitted to the channel) in order and record its outcome at once; the last outcome
        finishes the inbox row in the same write.

        A failed reply is recorded as failed with its reason and the next one is still tried, unless the
        failure is permanent (blocked, out of the window): then the rest are recorded as failed unsent."""
        fitted = render.fit(replies, channel.capabilities)
        permanent: str | None = None
        todo = [
            (i, parts)
            for i, parts in enumerate(fitted)
            if only is None or i >= len(message_ids) or message_ids[i] in only
        ]
        for n, (i, parts) in enumerate(todo, 1):
            sent: list[str] = []
            error: str | None = permanent
            if permanent is None:
                for part in parts:
                    try:
                        async with asyncio.timeout(self.send_deadline):  # even a channel that forgot its own
                            sent.extend(await channel.send(user_id, part))
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:
                        error = _reason(e)
                        sent.extend(str(x) for x in getattr(e, "sent", ()))
                        if isinstance(e, SendError) and e.permanent:
                            permanent = error
                        log.warning(
                            "%s: send failed (%s%s)", channel.name, type(e).__name__, ", permanent" if permanent else ""
                        )
                        break
            outcome = (
                [Delivery(message_ids[i], "failed" if error else "sent", sent[0] if sent else None, error)]
                if i < len(message_ids)
                else []
            )
            last = n == len(todo)
            if outcome or last:
                await asyncio.shield(self.store.record_deliveries(outcome, inbox_id=inbox_id if last else None))
            if error:
                await count_send_failure(self.store, channel.name, "bot")
        if not todo and inbox_id is not None:
            await self.store.record_deliveries([], inbox_id=inbox_id)
