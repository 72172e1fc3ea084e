"""The aiohttp application: the web chat page and its JSON API, health, and the platform webhooks."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.channels import Channels
from bot.console.api import add_console_api
from bot.console.pages import add_console_pages
from bot.console.review_api import add_review_api
from bot.console.studio_api import add_studio_api
from bot.dispatcher import Dispatcher
from bot.inputs import InputError, load_json, read_body, refused
from bot.logsafe import install_log_filters
from bot.metrics import metrics
from bot.reports.api import add_reports_api
from bot.settings import Settings
from bot.webhooks import setup_webhooks
from bot.wiring import Services, open_services
from dialogues.types import Event, Reply

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATIC = Path(__file__).resolve().parent.parent / "static"
SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_PAYLOAD = re.compile(r"^[A-Za-z0-9_:/.-]{1,64}$")


def reply_json(replies: tuple[Reply, ...]) -> dict[str, Any]:
    return {
        "replies": [
            {"text": r.text, "buttons": [{"title": b.title, "payload": b.payload} for b in r.buttons]} for r in replies
        ]
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def chat_api(request: web.Request) -> web.Response:
    server = request.app[SETTINGS].server
    try:
        body = load_json(await read_body(request, server.max_body_bytes, server.body_timeout_seconds))
    except InputError as e:
        return refused(e)
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object")
    session = body.get("session")
    if not isinstance(session, str) or not _SESSION.match(session):
        return _error(400, "'session' is missing or not 8-128 letters, digits, '-' or '_'")
    text, payload = body.get("text"), body.get("payload")
    if (text is None) == (payload is None):
        return _error(400, "send either 'text' or 'payload'")
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            return _error(400, "'text' is empty")
        event = Event("text", text=text)
    else:
        if not isinstance(payload, str) or not _PAYLOAD.match(payload):
            return _error(400, "'payload' is not a button payload")
        event = Event("payload", payload=payload)
    svc = request.app[SERVICES]
    if not await svc.coordination.allow_ip(request.remote or "", "web"):
        return _error(429, "too many messages from here; please wait a minute")
    dispatcher: Dispatcher = svc.dispatcher
    outcome = await dispatcher.handle("web", session, event)
    return web.json_response(reply_json(outcome.replies))


async def index(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "chat.html", headers=_PAGE_HEADERS)


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


_PAGE_HEADERS = {
    # The page carries its own hash-based policy for its inline script and style; this header adds
    # what a <meta> policy cannot (framing) and never loosens the page's own.
    "Content-Security-Policy": "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "the request is too large")
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request failed: %s %s", request.method, request.path)
        return _error(500, "something went wrong on our side; nothing you sent was lost")


async def _server_header(_: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = "Sigurno"  # no product versions for a scanner to match


def build_app(
    settings: Settings, services: Services | None = None, *, channels: Channels | None = None
) -> web.Application:
    """The app. `services` and `channels` replace the ones built from settings (tests)."""
    install_log_filters()
    app = web.Application(client_max_size=settings.server.max_body_bytes, middlewares=[errors_as_json])
    app[SETTINGS] = settings
    app.on_response_prepare.append(_server_header)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        if services is not None:
            app[SERVICES] = services
            yield
            return
        async with open_services(settings) as svc:
            app[SERVICES] = svc
            # What start-up loaded (models, content, libraries) lives as long as the process: keep it out of
            # the collector's full passes, which otherwise grow with it and show as latency spikes.
            gc.freeze()
            yield

    app.cleanup_ctx.append(lifetime)
    setup_webhooks(app, settings, SERVICES, channels=channels)  # after the services: they close after it
    add_console_api(app, SERVICES)  # after the webhooks: the relay sends through their channels
    add_reports_api(app)  # /api/console/reports and its charts (bot/reports/api.py)
    add_studio_api(app, SERVICES)  # /api/console/content: the staff studio (bot/console/studio_api.py)
    add_review_api(app, SERVICES)  # /console/review: what the bot did not understand, NLU models
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)  # Prometheus (bot/metrics.py)
    app.router.add_post("/api/chat", chat_api)
    add_console_pages(app)  # /console: the mediator console's pages and files (bot/console/pages.py)
    if STATIC.is_dir():
        app.router.add_static("/static/", STATIC, show_index=False)
    return app
