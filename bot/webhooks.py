"""One path for every platform's webhooks: verify, parse, take in, acknowledge, then answer in the background.

    POST /webhooks/<channel>   (GET /webhooks/messenger: Meta's hub verification)
      body over server.max_body_bytes          -> 413; not all in within server.body_timeout_seconds -> 408
      channel.verify(raw body, headers) fails  -> 403 (429 when one address keeps failing), nothing processed
      channel.parse() raises ValueError        -> 400 (not JSON, nested too deeply, malformed, ids that are
                                                  not ids); strings are cleaned as they are decoded (bot/inputs.py)
      for each event: dedup (coordination.admit / first_seen, then the inbox table's unique (channel, key),
      so a redelivery after a restart is still a duplicate) and the per-person rate count; the body's new
      events are written to the inbox in one transaction, then 200 (Viber conversation_started: the welcome
      message is the response body)
    background, one task per event, tracked (drained on shutdown, resumed from the inbox at start-up):
      conversation lock (coordination) -> Dispatcher.handle_locked (a person over the rate limit: the
      message is only recorded) -> render -> channel.send each part in order -> the delivery of every
      message recorded (with the inbox row done) in one write

Events of one person run one after another in the order they were taken in (a chain per person in
this process, and the conversation lock across processes). A platform that fails or hangs costs only
its own sends: calls are bounded by timeouts, a failed send is recorded with its error and the rest
goes on. delivery receipts update the message they name; subscribed/unsubscribed are recorded only.
Logs carry the channel and internal inbox ids: never text, raw ids or tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.channels import Channels, open_channels, render
from bot.channels.base import Channel, Inbound, SendError
from bot.coordination import MemoryCoordination
from bot.dispatcher import parse_answer_body
from bot.inputs import InputError, read_body, refused, valid_id
from bot.settings import Settings
from bot.storage.store import Delivery, InboxRec, TurnWrite
from bot.wiring import Services
from dialogues.types import Event, Reply

log = logging.getLogger(__name__)

START = Event("payload", payload="/start")
MAX_ATTEMPTS = 5  # an event that failed this many times (after restarts or errors) is given up, loudly
SWEEP_EVERY = 30.0  # seconds between looks for events left unfinished (a crashed process, an error)
STALE_AFTER = 60.0  # an unfinished event untouched this long is taken over
PRUNE_EVERY = 20  # sweeps between deletions of dedup records older than channels.dedup_hours
WELCOME_SECONDS = 4.0  # Viber waits about 5 s for the conversation_started response
SHUTDOWN_GRACE = 10.0  # seconds running events get to finish on shutdown (the rest resume at start-up)
NEEDS_WORK = ("message", "delivery", "conversation_started")


def inbound_body(ib: Inbound) -> str:
    """An event as kept (encrypted) in the inbox until it is handled."""
    ev = ib.event
    return json.dumps(
        {
            "kind": ib.kind,
            "user_id": ib.user_id,
            "event": None if ev is None else [ev.kind, ev.text, ev.payload, ev.media],
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
        event=None if ev is None else Event(ev[0], text=ev[1], payload=ev[2], media=ev[3]),
        dedup_key=key,
        receipt_for=receipt_for,
        receipt_status=receipt_status,
        receipt_error=receipt_error,
        callback_id=d["callback_id"],
    )


def _reason(e: BaseException) -> str:
    """What goes into delivery_error: the channel's own message (never secret by contract) or the error type."""
    if isinstance(e, SendError):
        return str(e)[:500] or type(e).__name__
    if isinstance(e, TimeoutError):
        return "timed out"
    return type(e).__name__


class Pipeline:
    """Takes webhook events in and answers them in tracked background tasks."""

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
        self.in_flight: set[int] = set()  # inbox ids being handled by this process
        self._chains: dict[str, asyncio.Future[None]] = {}  # person -> the end of their queue here
        self._sweeper: asyncio.Task[None] | None = None
        self.shutdown_grace = SHUTDOWN_GRACE
        self._closing = False
        # With in-process coordination this is the only process serving the bot.
        self.single_process = isinstance(self.coordination, MemoryCoordination)
        self._warned_bad_ip = False

    # -- lifetime ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume what a previous run left unfinished, then keep sweeping now and then."""
        started = datetime.now(UTC)
        # The only process: everything unfinished is an orphan. With Redis, other processes may be working
        # right now: leave them their fresh events.
        await self.sweep(started if self.single_process else started - timedelta(seconds=STALE_AFTER))
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking work; let running events finish for `grace` seconds (shutdown_grace), then cancel the
        rest (they stay unfinished in the inbox and are resumed at the next start)."""
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
                log.warning("shutdown: %d event(s) left unfinished; they resume at the next start", len(pending))
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
            except Exception:
                log.exception("inbox sweep failed; trying again later")

    async def sweep(self, updated_before: datetime) -> int:
        """Take over unfinished events not touched since `updated_before`; returns how many were queued."""
        queued = 0
        for rec in await self.store.inbox_pending(updated_before):
            if rec.id in self.in_flight or self._closing:
                continue
            channel = self.channels.get(rec.channel)
            if channel is None:
                log.warning("inbox %d: the %s channel is off; the event waits", rec.id, rec.channel)
                continue
            attempts = await self.store.inbox_retry(rec.id)
            if attempts is None:
                continue  # finished meanwhile
            if attempts > MAX_ATTEMPTS or rec.body is None:
                await self.store.inbox_finish(rec.id, "failed")
                log.error("inbox %d (%s): given up after %d attempts", rec.id, rec.channel, attempts - 1)
                continue
            log.warning("inbox %d (%s): resuming an unfinished event (attempt %d)", rec.id, rec.channel, attempts)
            if rec.status == "answered":
                user_id = parse_answer_body(rec.body)[0]
                self._queue(channel, rec.id, user_id, functools.partial(self._resend, channel, rec))
            else:
                ib = parse_inbound_body(rec.channel, rec.key, rec.body)
                self.submit(channel, rec.id, ib)
            queued += 1
        return queued

    # -- taking events in --------------------------------------------------------------------------

    async def receive(self, channel: Channel, inbounds: list[Inbound]) -> web.Response:
        """Dedup and store a verified body's events, start their handling, and answer the platform."""
        fresh: list[Inbound] = []
        over_limit: set[str] = set()  # dedup keys of messages over their person's rate limit
        for ib in inbounds:
            if ib.kind == "ignored":
                continue
            if (ib.kind in ("message", "conversation_started") and not ib.user_id) or (
                ib.kind == "message" and ib.event is None
            ):
                log.warning("%s: a message event without a sender or content was dropped", channel.name)
                continue
            if not ib.dedup_key:
                # No platform id to recognise a redelivery by: handled, but a retry would be answered again.
                log.warning("%s: an event without a platform id (no dedup possible)", channel.name)
                ib = dataclasses.replace(ib, dedup_key="nokey:" + secrets.token_hex(12))
            if ib.kind == "message":
                person = self.store.key_for(channel.name, ib.user_id)
                first, allowed = await self.coordination.admit(channel.name, ib.dedup_key, self.dedup_seconds, person)
                if first:
                    fresh.append(ib)
                    if not allowed:
                        over_limit.add(ib.dedup_key)
            elif await self.coordination.first_seen(channel.name, ib.dedup_key, self.dedup_seconds):
                fresh.append(ib)
        if not fresh:
            return web.json_response({})
        items = [
            (
                ib.dedup_key,
                ib.kind,
                inbound_body(ib) if ib.kind in NEEDS_WORK else None,
                "received" if ib.kind in NEEDS_WORK else "done",
                # Messages are ordered per person across processes by this key (see _answer).
                self.store.key_for(channel.name, ib.user_id) if ib.kind == "message" else None,
            )
            for ib in fresh
        ]
        try:
            ids = await self.store.inbox_add(channel.name, items, behind=not self.single_process)
        except Exception:
            # Not taken in: the platform must retry, so the fast dedup must not remember these events.
            for ib in fresh:
                with contextlib.suppress(Exception):
                    await self.coordination.forget(channel.name, ib.dedup_key)
            log.exception("%s: events could not be stored; the platform will retry", channel.name)
            return web.json_response({"error": "try again"}, status=503)
        welcome: dict[str, Any] | None = None
        for ib, taken in zip(fresh, ids, strict=True):
            if taken is None:
                continue  # taken in before (a redelivery after a restart, or by another process)
            if ib.kind == "conversation_started":
                welcome = await self._welcome(channel, taken.id, ib) or welcome
            elif ib.kind in ("subscribed", "unsubscribed"):
                log.info("%s: a person %s", channel.name, ib.kind)
            elif ib.kind in NEEDS_WORK:
                self.submit(channel, taken.id, ib, behind=taken.behind, limited=ib.dedup_key in over_limit)
        return web.json_response(welcome or {})

    async def _welcome(self, channel: Channel, inbox_id: int, ib: Inbound) -> dict[str, Any] | None:
        """Viber: the conversation's first message goes in the HTTP response, not through the send API."""
        build: Callable[[tuple[Reply, ...]], dict[str, Any]] | None = getattr(channel, "welcome_body", None)
        if build is None:
            self.submit(channel, inbox_id, ib)
            return None
        key = self.store.key_for(channel.name, ib.user_id)
        self.in_flight.add(inbox_id)
        try:
            async with asyncio.timeout(WELCOME_SECONDS), self.coordination.hold(key):
                outcome = await self.dispatcher.handle_locked(
                    channel.name, ib.user_id, ib.event or START, ib.dedup_key, inbox_id=inbox_id
                )
            if outcome is None or not outcome.replies:
                return None
            body = build(outcome.replies)
            sent = [Delivery(mid, "sent") for mid in outcome.message_ids]
            await self.store.record_deliveries(sent, inbox_id=inbox_id)
            return body
        except Exception:
            log.exception("%s: the welcome message could not be prepared (inbox %d)", channel.name, inbox_id)
            return None
        finally:
            self.in_flight.discard(inbox_id)

    # -- handling events ---------------------------------------------------------------------------

    def submit(
        self, channel: Channel, inbox_id: int, ib: Inbound, *, behind: bool = True, limited: bool = False
    ) -> None:
        """Handle one stored event in a tracked background task, after the person's earlier events.

        `behind`: an earlier event of the person was unanswered when this one was taken in (see _answer);
        `limited`: the person was over their rate limit when it came in (recorded, not answered)."""
        if ib.kind == "delivery":
            self._track(self._guard(channel, inbox_id, self._receipt(channel, inbox_id, ib)), inbox_id)
            return
        self._queue(channel, inbox_id, ib.user_id, lambda: self._answer(channel, inbox_id, ib, behind, limited))

    def _queue(self, channel: Channel, inbox_id: int, user_id: str, work: Callable[[], Awaitable[None]]) -> None:
        key = self.store.key_for(channel.name, user_id)
        previous = self._chains.get(key)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._chains[key] = done

        async def run() -> None:
            try:
                if previous is not None:
                    await asyncio.shield(previous)
                await self._guard(channel, inbox_id, work())
            finally:
                if not done.done():
                    done.set_result(None)
                if self._chains.get(key) is done:
                    del self._chains[key]

        self._track(run(), inbox_id)

    def _track(self, coro: Awaitable[None], inbox_id: int) -> None:
        self.in_flight.add(inbox_id)

        async def wrapped() -> None:
            try:
                await coro
            finally:
                self.in_flight.discard(inbox_id)

        task = asyncio.get_running_loop().create_task(wrapped())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guard(self, channel: Channel, inbox_id: int, work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            # Left unfinished in the inbox: the sweeper tries again (a bounded number of times).
            log.exception("%s: inbox %d could not be handled; it will be retried", channel.name, inbox_id)

    async def _receipt(self, channel: Channel, inbox_id: int, ib: Inbound) -> None:
        if ib.receipt_for and ib.receipt_status in ("delivered", "seen", "failed"):
            await self.store.set_delivery_by_platform_id(
                channel.name, ib.receipt_for, ib.receipt_status, ib.receipt_error or None, platform_id=ib.user_id
            )
        await self.store.inbox_finish(inbox_id, "done")

    async def _answer(
        self, channel: Channel, inbox_id: int, ib: Inbound, behind: bool = True, limited: bool = False
    ) -> None:
        event = ib.event or START
        acknowledge = getattr(channel, "acknowledge", None)
        if acknowledge is not None and ib.callback_id:
            try:
                await acknowledge(ib)  # Telegram: stop the button's spinner
            except Exception as e:
                log.warning("%s: acknowledging a button tap failed (%s)", channel.name, type(e).__name__)
        key = self.store.key_for(channel.name, ib.user_id)
        if limited:
            log.warning("%s: a person is over the message rate limit; recorded, not answered", channel.name)
            async with self.coordination.hold(key):
                await self._record_limited(channel, inbox_id, ib, event)
            return
        async with self.coordination.hold(key):
            if behind and not self.single_process:
                # Another process may have taken in this person's previous message and not reached the lock
                # yet: answer those first, oldest first, so the order holds across processes too.
                for early in await self.store.inbox_earlier(key, inbox_id):
                    if early.body is not None:
                        earlier = parse_inbound_body(early.channel, early.key, early.body)
                        await self._turn(channel, early.id, earlier, earlier.event or START)
            await self._turn(channel, inbox_id, ib, event)

    async def _turn(self, channel: Channel, inbox_id: int, ib: Inbound, event: Event) -> None:
        """One event under its person's lock: the dispatcher's turn, then the sends."""
        outcome = await self.dispatcher.handle_locked(channel.name, ib.user_id, event, ib.dedup_key, inbox_id=inbox_id)
        if outcome is None:
            rec = await self.store.inbox_get(inbox_id)
            if rec is not None and rec.status == "answered":
                await self._resend_locked(channel, rec)
            return
        if outcome.replies:
            await self.deliver(channel, ib.user_id, outcome.replies, outcome.message_ids, inbox_id)

    async def _record_limited(self, channel: Channel, inbox_id: int, ib: Inbound, event: Event) -> None:
        rec = await self.store.inbox_get(inbox_id)
        if rec is None or rec.status != "received":
            return
        kind = "text" if event.kind == "text" else "payload" if event.kind == "payload" else (event.media or "other")
        limit = self.settings.server.max_message_chars
        text = event.text[:limit] if event.kind == "text" else event.payload[:200] if event.kind == "payload" else None
        await self.store.record_turn(
            TurnWrite(
                channel.name,
                ib.user_id,
                incoming=(kind, text, ib.dedup_key),
                inbox_id=inbox_id,
                inbox_status="limited",
            )
        )

    async def _resend(self, channel: Channel, rec: InboxRec) -> None:
        user_id = parse_answer_body(rec.body or "")[0]
        async with self.coordination.hold(self.store.key_for(channel.name, user_id)):
            fresh = await self.store.inbox_get(rec.id)
            if fresh is not None and fresh.status == "answered":
                await self._resend_locked(channel, fresh)

    async def _resend_locked(self, channel: Channel, rec: InboxRec) -> None:
        """Finish sending a stored answer: only the replies with no delivery outcome yet."""
        user_id, replies, message_ids = parse_answer_body(rec.body or "")
        waiting = await self.store.undelivered(message_ids) if message_ids else None
        await self.deliver(channel, user_id, replies, message_ids, rec.id, only=waiting)

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
        """Send each reply (fitted to the channel) in order, then record every outcome (and finish the inbox row).

        A failed reply is recorded as failed with its reason and the next one is still tried, unless the
        failure is permanent (blocked, out of the window): then the rest are recorded as failed unsent."""
        fitted = render.fit(replies, channel.capabilities)
        permanent: str | None = None
        todo = [
            (i, parts)
            for i, parts in enumerate(fitted)
            if only is None or i >= len(message_ids) or message_ids[i] in only
        ]
        outcomes: list[Delivery] = []
        try:
            for i, parts in todo:
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
                                "%s: send failed (%s%s)",
                                channel.name,
                                type(e).__name__,
                                ", permanent" if permanent else "",
                            )
                            break
                if i < len(message_ids):
                    outcomes.append(
                        Delivery(message_ids[i], "failed" if error else "sent", sent[0] if sent else None, error)
                    )
        except asyncio.CancelledError:
            # Stopped halfway (shutdown): record what went out, so that resuming does not send it again.
            if outcomes:
                await asyncio.shield(self.store.record_deliveries(outcomes))
            raise
        # One write for the whole answer (and the inbox row): a write per reply costs more than it saves.
        await self.store.record_deliveries(outcomes, inbox_id=inbox_id)


# -- HTTP ------------------------------------------------------------------------------------------

PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline", Pipeline)
CHANNELS: web.AppKey[Channels] = web.AppKey("channels", Channels)


def webhook_handler(
    name: str, limit: int, body_timeout: float = 10.0
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        pipeline = request.app[PIPELINE]
        channel = pipeline.channels.get(name)
        if channel is None:
            raise web.HTTPNotFound()
        try:
            body = await read_body(request, limit, body_timeout)  # bounded in size and time, before anything else
        except InputError as e:
            return refused(e)
        headers = request.headers
        if not channel.verify(body, headers):
            if not await pipeline.coordination.allow_ip(request.remote or "", "bad_webhook"):
                if not pipeline._warned_bad_ip:
                    pipeline._warned_bad_ip = True
                    log.warning("%s: one address keeps failing webhook verification (429 from now on)", name)
                return web.json_response({"error": "too many requests"}, status=429)
            log.warning("%s: a webhook failed verification (403)", name)
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            inbounds = checked(channel.parse(body, headers))
        except ValueError:
            log.warning("%s: a verified webhook body could not be read (400)", name)
            return web.json_response({"error": "not a webhook body of this platform"}, status=400)
        return await pipeline.receive(channel, inbounds)

    return handle


def checked(inbounds: list[Inbound]) -> list[Inbound]:
    """The ids a parser found, refused (ValueError) when they are not ids: too long, or odd characters."""
    for ib in inbounds:
        for value in (ib.user_id, ib.dedup_key, ib.receipt_for, ib.callback_id):
            if value and not valid_id(value):
                raise ValueError("an id in the webhook body is not an id")
    return inbounds


async def messenger_subscription(request: web.Request) -> web.StreamResponse:
    """GET /webhooks/messenger: Meta's hub verification (hub.challenge back when hub.verify_token matches)."""
    channel = request.app[PIPELINE].channels.get("messenger")
    verify: Callable[[Any], Awaitable[str | None]] | None = getattr(channel, "verify_subscription", None)
    if verify is None:
        raise web.HTTPNotFound()
    challenge = await verify(request.query)
    if challenge is None:
        log.warning("messenger: hub verification refused (403)")
        return web.json_response({"error": "forbidden"}, status=403)
    return web.Response(text=challenge, content_type="text/plain")


def setup_webhooks(
    app: web.Application,
    settings: Settings,
    services_key: web.AppKey[Services],
    *,
    channels: Channels | None = None,
) -> None:
    """Add the webhook routes of the channels that are on, and the lifetime of their session and tasks.

    `channels` replaces the ones built from settings (tests); its names decide the routes."""
    names = channels.names if channels is not None else settings.channels.enabled
    if not names:
        return
    limit = settings.server.max_body_bytes
    body_timeout = settings.server.body_timeout_seconds

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            chans = (
                channels if channels is not None else await stack.enter_async_context(open_channels(settings.channels))
            )
            pipeline = Pipeline(app[services_key], chans, settings)
            app[CHANNELS] = chans
            app[PIPELINE] = pipeline
            await pipeline.start()
            try:
                yield
            finally:
                await pipeline.stop()

    app.cleanup_ctx.append(lifetime)
    for name in names:
        app.router.add_post(f"/webhooks/{name}", webhook_handler(name, limit, body_timeout))
    if "messenger" in names:
        app.router.add_get("/webhooks/messenger", messenger_subscription)
