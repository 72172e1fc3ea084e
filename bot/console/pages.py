"""The console's pages: /console (the queue), /console/login, /console/cases/{id}, /console/reports and their files.

The pages are plain HTML with no inline script, style or event-handler attribute: each one loads
same-origin files from /console/static/ (bot/console/static/). So the policy sent with every page
and file allows scripts and styles from this origin only and nothing inline at all (no hashes to keep
in step), connects only to this origin (the JSON API and its event stream), and on Chromium also
switches on Trusted Types, which makes any HTML-string sink (innerHTML and friends) throw: person
text can only ever reach the page as text. The pages hold no data: they call /api/console/* and go
to the login page on 401.
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"

POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "X-Robots-Tag": "noindex, nofollow",
}
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(?:css|js|svg)$")


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(STATIC / name, headers={**HEADERS, "Content-Type": "text/html; charset=utf-8"})


async def queue_page(_: web.Request) -> web.FileResponse:
    return _page("queue.html")


async def login_page(_: web.Request) -> web.FileResponse:
    return _page("login.html")


async def case_page(_: web.Request) -> web.FileResponse:
    return _page("case.html")


async def reports_page(_: web.Request) -> web.FileResponse:
    return _page("reports.html")


async def to_queue(_: web.Request) -> web.Response:
    raise web.HTTPFound("/console", headers={"Cache-Control": "no-store"})


async def asset(request: web.Request) -> web.FileResponse:
    """One file of bot/console/static (css, js, svg): a flat, fixed set of names; nothing else is served."""
    name = request.match_info["name"]
    path = STATIC / name
    if not _ASSET.match(name) or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={**HEADERS, "Content-Type": CONTENT_TYPES[path.suffix]})


def add_console_pages(app: web.Application) -> None:
    """Register the console's pages and static files on the app (the JSON API is added by bot.console.api)."""
    app.router.add_get("/console", queue_page)
    app.router.add_get("/console/", to_queue)
    app.router.add_get("/console/login", login_page)
    app.router.add_get(r"/console/cases/{case_id:[1-9][0-9]{0,17}}", case_page)
    app.router.add_get("/console/reports", reports_page)
    app.router.add_get("/console/static/{name}", asset)
