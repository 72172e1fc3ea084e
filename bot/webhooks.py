"""The webhook routes of every platform: verify, parse, hand the events to the durable inbox (bot.inbox).

    POST /webhooks/<channel>   (GET /webhooks/messenger: Meta's hub verification)
      body over server.max_body_bytes          -> 413; not all in within server.body_timeout_seconds -> 408
      channel.verify(raw body, headers) fails  -> 403 (429 when one address keeps failing), nothing processed
      channel.parse() raises ValueError        -> 400 (not JSON, nested too deeply, malformed, ids that are
                                                  not ids); strings are cleaned as they are decoded (bot/inputs.py)
      the events stored in the inbox in one commit -> 200 (Viber conversation_started: the welcome message is
      the response body); the inbox could not store them -> 503 (the platform retries)
Logs carry the channel and internal inbox ids: never text, raw ids or tokens.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from bot import metrics
from bot.channels import Channels, open_channels
from bot.channels.base import Inbound
from bot.inbox import Pipeline, inbound_body, parse_inbound_body
from bot.inputs import InputError, read_body, refused, valid_id
from bot.settings import Settings
from bot.wiring import Services

__all__ = ["CHANNELS", "PIPELINE", "Pipeline", "inbound_body", "parse_inbound_body", "setup_webhooks"]

log = logging.getLogger(__name__)


# -- HTTP ------------------------------------------------------------------------------------------

PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline", Pipeline)
CHANNELS: web.AppKey[Channels] = web.AppKey("channels", Channels)


def webhook_handler(
    name: str, limit: int, body_timeout: float = 10.0
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = await answer(request)
        metrics.WEBHOOKS.labels(name, str(response.status)).inc()
        return response

    async def answer(request: web.Request) -> web.StreamResponse:
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
                if not pipeline.warned_bad_ip:
                    pipeline.warned_bad_ip = True
                    log.warning("%s: one address keeps failing webhook verification (429 from now on)", name)
                return web.json_response({"error": "too many requests"}, status=429)
            log.warning("%s: a webhook failed verification (403)", name)
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            inbounds = checked(channel.parse(body, headers))
        except ValueError:
            log.warning("%s: a verified webhook body could not be read (400)", name)
            return web.json_response({"error": "not a webhook body of this platform"}, status=400)
        status, answer = await pipeline.receive(channel, inbounds)
        return web.json_response(answer, status=status)

    return handle


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


def checked(inbounds: list[Inbound]) -> list[Inbound]:
    """The ids a parser found, refused (ValueError) when they are not ids: too long, or odd characters."""
    for ib in inbounds:
        for value in (ib.user_id, ib.dedup_key, ib.receipt_for, ib.callback_id):
            if value and not valid_id(value):
                raise ValueError("an id in the webhook body is not an id")
    return inbounds


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
