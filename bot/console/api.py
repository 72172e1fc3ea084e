"""The console's JSON API (/api/console/*) and the web chat's updates endpoint (/api/chat/updates).

Every answer is JSON (person text is data, never HTML) with Cache-Control: no-store. Rules, in order:
no valid session cookie -> 401; a state-changing request without the session's X-CSRF-Token -> 403;
a role that may not do it -> 403; a case the mediator may not see -> 403; a move the case cannot make
now -> 409. Routes and bodies are listed in README.md ("Mediators").
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.accounts.auth import LoginRefused, csrf_ok
from bot.accounts.roles import CASE_ROLES, can_view_case
from bot.handoff.cases import OUTCOMES, AlreadyTaken, NotYours, TransitionError
from bot.handoff.service import Handoff, open_handoff
from bot.inputs import InputError, load_json, read_body
from bot.storage.console_repo import NoteRec, SessionRec
from bot.storage.models import CASE_STATUSES
from bot.storage.store import ANY, CaseRec, MessageRec, UnknownCase
from bot.webhooks import CHANNELS
from bot.wiring import Services

log = logging.getLogger(__name__)

HANDOFF: web.AppKey[Handoff] = web.AppKey("handoff", Handoff)
COOKIE = "sigurno_console"
CSRF_HEADER = "X-CSRF-Token"
MAX_REPLY = 2000  # Messenger's limit, the smallest of the channels
MAX_NOTE = 4000
MAX_LISTED = 200  # closed / released cases shown, newest first
KEEPALIVE_SECONDS = 15.0
SESSION_PARAM = re.compile(r"^[A-Za-z0-9_-]{8,128}$")  # the web chat's session id (as in POST /api/chat)
AFTER_PARAM = re.compile(r"^[0-9]{1,18}$")
FROM = {"in": "person", "out": "bot", "mediator": "mediator"}
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Authed = Callable[[web.Request, Handoff, SessionRec], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=NO_STORE)


def _ok(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=NO_STORE)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def _ip(request: web.Request) -> str:
    return request.remote or "?"


async def _body(request: web.Request) -> dict[str, Any]:
    """A JSON object body; only application/json (a cross-site form cannot send it without CORS)."""
    if request.content_type != "application/json":
        raise ApiError(415, "send the body as application/json")
    server = request.app[HANDOFF].settings.server
    try:
        body = load_json(await read_body(request, server.max_body_bytes, server.body_timeout_seconds))
    except InputError as e:
        raise ApiError(e.status, str(e)) from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"'{key}' is missing or empty")
    if len(value) > limit:
        raise ApiError(400, f"'{key}' is longer than {limit} characters")
    return value


def api(*, write: bool = False, roles: tuple[str, ...] | None = CASE_ROLES) -> Callable[[Authed], Handler]:
    """Session (401), CSRF on state-changing requests (403), role (403); errors as JSON."""

    def wrap(fn: Authed) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            h = request.app[HANDOFF]
            try:
                session = await h.auth.session(request.cookies.get(COOKIE))
                if session is None:
                    raise ApiError(401, "log in first")
                if write and not csrf_ok(session, request.headers.get(CSRF_HEADER)):
                    raise ApiError(403, f"missing or wrong CSRF token: send the {CSRF_HEADER} header from login")
                if roles is not None and session.user.role not in roles:
                    raise ApiError(403, f"the {session.user.role} role may not do this")
                return await fn(request, h, session)
            except ApiError as e:
                return _error(e.status, str(e))
            except AlreadyTaken:
                return _error(409, "already taken")
            except TransitionError as e:
                return _error(409, str(e))
            except UnknownCase:
                return _error(404, "no such case")

        return handler

    return wrap


# -- JSON shapes ------------------------------------------------------------------------------------


def case_json(
    h: Handoff,
    case: CaseRec,
    now: datetime,
    last_in: dict[str, datetime],
    last_msg: dict[str, tuple[datetime, str]],
) -> dict[str, Any]:
    newest = last_msg.get(case.person_key)
    if case.status == "queued":
        waiting = (now - case.created_at).total_seconds()
    elif case.status == "assigned" and newest is not None and newest[1] == "in":
        waiting = (now - newest[0]).total_seconds()  # the person wrote last: they wait for the mediator
    else:
        waiting = 0.0
    return {
        "id": case.id,
        "status": case.status,
        "priority": case.priority,
        "signals": list(case.signals),
        "country": case.country,
        "channel": case.channel,
        "assignee": case.assignee,
        "outcome": case.outcome,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "closed_at": _iso(case.closed_at),
        "waiting_seconds": max(0, int(waiting)),
        "reply_window_open": h.relay.window_open(case.channel, last_in.get(case.person_key), now),
        "last_message_at": _iso(newest[0]) if newest else None,
    }


async def cases_json(h: Handoff, cases: list[CaseRec]) -> list[dict[str, Any]]:
    keys = [c.person_key for c in cases]
    last_in = await h.repo.last_inbound(keys)
    last_msg = await h.repo.last_message(keys)
    now = h.repo.now()
    return [case_json(h, c, now, last_in, last_msg) for c in cases]


def message_json(m: MessageRec) -> dict[str, Any]:
    return {
        "id": m.id,
        "direction": m.direction,
        "from": FROM[m.direction],
        "kind": m.kind,
        "text": m.text,
        "at": _iso(m.created_at),
        "delivery_status": m.delivery_status,
        "delivery_error": m.delivery_error,
    }


def note_json(n: NoteRec) -> dict[str, Any]:
    return {"id": n.id, "author": n.author, "text": n.text, "at": _iso(n.created_at)}


async def _visible(h: Handoff, session: SessionRec, request: web.Request) -> CaseRec:
    case = await h.store.get_case(int(request.match_info["case_id"]))
    if case is None:
        raise ApiError(404, "no such case")
    if not can_view_case(session.user.name, session.user.role, case):
        raise ApiError(403, "this case is assigned to another mediator")
    return case


def _owner(session: SessionRec) -> object:
    """Whose case a move needs: an admin may act on any case, a mediator only on their own."""
    return ANY if session.user.role == "admin" else session.user.name


# -- login, logout, me --------------------------------------------------------------------------------


async def login(request: web.Request) -> web.StreamResponse:
    h = request.app[HANDOFF]
    try:
        body = await _body(request)
    except ApiError as e:
        return _error(e.status, str(e))
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        return _error(400, "send 'username' and 'password'")
    try:
        done = await h.auth.login(username, password, _ip(request))
    except LoginRefused as e:
        resp = _error(e.status, str(e))
        if e.retry_after:
            resp.headers["Retry-After"] = str(e.retry_after)
        return resp
    resp = _ok({"csrf": done.csrf, "user": {"username": done.user.name, "role": done.user.role}})
    resp.set_cookie(
        COOKIE,
        done.token,
        max_age=done.max_age_seconds,
        path="/",
        httponly=True,
        secure=request.secure or h.settings.console.secure_cookies,
        samesite="Strict",
    )
    return resp


@api(write=True, roles=None)
async def logout(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    await h.auth.logout(session, _ip(request))
    resp = _ok({"ok": True})
    resp.del_cookie(COOKIE, path="/")
    return resp


@api(roles=None)
async def me(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    return _ok(
        {
            "user": {"username": session.user.name, "role": session.user.role},
            "csrf": session.csrf,
            "expires_at": _iso(session.expires_at),
            "outcomes": list(OUTCOMES),
        }
    )


# -- cases ----------------------------------------------------------------------------------------


@api()
async def list_cases(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    status = request.query.get("status", "queued")
    if status not in CASE_STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(CASE_STATUSES)}")
    cases = [c for c in await h.store.list_cases(status) if can_view_case(session.user.name, session.user.role, c)]
    if status in ("closed", "released"):
        cases = sorted(cases, key=lambda c: (c.closed_at or c.updated_at, c.id), reverse=True)[:MAX_LISTED]
    return _ok({"status": status, "cases": await cases_json(h, cases)})


@api()
async def get_case(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    case = await _visible(h, session, request)
    data = await _case_detail(h, case)
    await h.repo.audit(session.user.name, "case_view", case_id=case.id, ip=_ip(request))
    return _ok(data)


async def _case_detail(h: Handoff, case: CaseRec) -> dict[str, Any]:
    messages = await h.store.messages_for_case(case.id)
    notes = await h.repo.notes(case.id)
    events = await h.store.case_events(case.id)
    return {
        "case": (await cases_json(h, [case]))[0],
        "messages": [message_json(m) for m in messages],
        "notes": [note_json(n) for n in notes],
        "events": [
            {"id": e.id, "kind": e.kind, "actor": e.actor, "data": e.data, "at": _iso(e.created_at)} for e in events
        ],
        "delivery_failures": [
            {"message_id": m.id, "error": m.delivery_error, "at": _iso(m.created_at)}
            for m in messages
            if m.delivery_status == "failed"
        ],
    }


@api(roles=("admin",))
async def export_case(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    case = await _visible(h, session, request)
    data = await _case_detail(h, case)
    data["audit"] = [
        {"actor": a.actor, "action": a.action, "at": _iso(a.created_at), "detail": a.detail}
        for a in await h.repo.audit_log(case_id=case.id)
    ]
    await h.repo.audit(session.user.name, "export", case_id=case.id, ip=_ip(request))
    resp = _ok(data)
    resp.headers["Content-Disposition"] = f'attachment; filename="sigurno-case-{case.id}.json"'
    return resp


@api(roles=("admin",))
async def set_aside(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    """Webhook events set aside after failing again and again: how many, and the latest 100 (what kind,
    which channel, when; never whose or what they said)."""
    count, rows = await h.store.inbox_set_aside()
    return _ok(
        {
            "count": count,
            "events": [
                {
                    "inbox_id": r.id,
                    "channel": r.channel,
                    "kind": r.kind,
                    "attempts": r.attempts,
                    "received_at": _iso(r.received_at),
                    "set_aside_at": _iso(r.updated_at),
                }
                for r in rows
            ],
        }
    )


@api(write=True)
async def claim(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    # No visibility check first: a case someone took a moment ago answers 409 "already taken", not 403.
    case = await h.store.get_case(int(request.match_info["case_id"]))
    if case is None:
        raise ApiError(404, "no such case")
    try:
        claimed = await h.cases.claim(case.id, session.user.name)
    except AlreadyTaken:
        await h.repo.audit(session.user.name, "claim_lost", case_id=case.id, ip=_ip(request))
        raise
    await h.repo.audit(session.user.name, "claim", case_id=case.id, ip=_ip(request))
    return _ok({"case": (await cases_json(h, [claimed]))[0]})


@api(write=True)
async def send_message(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    case = await _visible(h, session, request)
    text = _text(await _body(request), "text", MAX_REPLY)
    if case.status != "assigned" or case.assignee != session.user.name:
        raise NotYours()
    try:
        delivered = await h.relay.to_person(case.person_key, text, direction="mediator", case_id=case.id)
    except LookupError as e:
        raise ApiError(404, "the person's data was erased") from e
    await h.repo.audit(
        session.user.name,
        "reply",
        case_id=case.id,
        ip=_ip(request),
        detail={"message_id": delivered.message_id, "delivery": delivered.status},
    )
    await h.notifier.message(case, "mediator")
    return _ok(
        {
            "message": {
                "id": delivered.message_id,
                "delivery_status": delivered.status,
                "delivery_error": delivered.error,
            }
        }
    )


@api(write=True)
async def add_note(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    case = await _visible(h, session, request)
    text = _text(await _body(request), "text", MAX_NOTE)
    note = await h.repo.add_note(case.id, session.user.name, text)
    await h.repo.audit(session.user.name, "note", case_id=case.id, ip=_ip(request), detail={"note_id": note.id})
    await h.notifier.case_updated(case, "note")
    return _ok({"note": note_json(note)})


@api(write=True)
async def release(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    case = await _visible(h, session, request)
    released = await h.cases.release(case.id, session.user.name, assignee=_owner(session), reason="mediator")
    await h.repo.audit(session.user.name, "release", case_id=case.id, ip=_ip(request))
    return _ok({"case": (await cases_json(h, [released]))[0]})


@api(write=True)
async def close(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    case = await _visible(h, session, request)
    outcome = (await _body(request)).get("outcome")
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise ApiError(400, f"'outcome' must be one of {', '.join(OUTCOMES)}")
    closed = await h.cases.close(case.id, session.user.name, outcome, assignee=_owner(session))
    await h.repo.audit(session.user.name, "close", case_id=case.id, ip=_ip(request), detail={"outcome": outcome})
    return _ok({"case": (await cases_json(h, [closed]))[0]})


@api()
async def canned(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    return _ok({"canned": [c.to_json() for c in h.canned]})


@api()
async def outcomes(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    return _ok({"outcomes": list(OUTCOMES)})


# -- live events (SSE) -------------------------------------------------------------------------------


@api()
async def events(request: web.Request, h: Handoff, session: SessionRec) -> web.StreamResponse:
    """Server-Sent Events: `event: case_opened|case_updated|message|overflow`, data = JSON without personal
    data. A comment line every 15 s keeps proxies from closing the stream; the stream ends when the
    session does (logout, expiry, account disabled) or the server stops."""
    resp = web.StreamResponse(
        headers={
            **NO_STORE,
            "Content-Type": "text/event-stream; charset=utf-8",
            "X-Accel-Buffering": "no",
        }
    )
    sub = h.bus.subscribe()
    token = request.cookies.get(COOKIE)
    try:
        await resp.prepare(request)
        await resp.write(b"retry: 3000\n: connected\n\n")
        while True:
            try:
                event = await asyncio.wait_for(sub.get(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                if await h.auth.session(token) is None:
                    break
                await resp.write(b": keepalive\n\n")
                continue
            if event is None:
                break
            data = json.dumps(event.to_json(), separators=(",", ":"))
            await resp.write(f"event: {event.type}\ndata: {data}\n\n".encode())
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        sub.close()
    return resp


# -- the web chat's updates -------------------------------------------------------------------------


async def chat_updates(request: web.Request) -> web.StreamResponse:
    """GET /api/chat/updates?session=S&after=N: what was pushed to this web chat person after message N
    (a mediator's replies, the bot's handoff notices), oldest first, at most 100."""
    h = request.app[HANDOFF]
    session = request.query.get("session", "")
    if not SESSION_PARAM.match(session):
        return _error(400, "'session' is missing or not 8-128 letters, digits, '-' or '_'")
    after_raw = request.query.get("after", "0")
    if not AFTER_PARAM.match(after_raw):  # not str.isdigit(): it says yes to "²", which int() refuses
        return _error(400, "'after' must be a message id (a whole number, 0 for all)")
    if not await h.coordination.allow_ip(_ip(request), "web_updates"):
        return _error(429, "too many requests; wait a minute")
    key = h.store.key_for("web", session)
    pushed = await h.repo.pushed_after(key, int(after_raw))
    for p in pushed:
        await h.store.set_delivery(p.id, "delivered")
    return _ok(
        {
            "messages": [
                {
                    "id": p.id,
                    "text": p.text,
                    "from": "mediator" if p.direction == "mediator" else "bot",
                    "at": _iso(p.created_at),
                }
                for p in pushed
            ],
            "last": pushed[-1].id if pushed else int(after_raw),
        }
    )


# -- wiring -----------------------------------------------------------------------------------------


def add_console_api(app: web.Application, services_key: web.AppKey[Services], *, run_timers: bool = True) -> None:
    """Register the console API and /api/chat/updates, and start the handoff side with the app. Call it after
    the services' and the webhooks' set-up: the relay sends through the channels the webhooks opened."""

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        svc = app[services_key]
        async with open_handoff(
            svc.settings, svc.store, svc.content, svc.dispatcher, channels=app.get(CHANNELS), run_timers=run_timers
        ) as handoff:
            app[HANDOFF] = handoff
            yield

    async def end_streams(app: web.Application) -> None:
        """On shutdown, end the open event streams first, so the server does not wait for them."""
        if HANDOFF in app:
            app[HANDOFF].bus.end_streams()

    app.cleanup_ctx.append(lifetime)
    app.on_shutdown.append(end_streams)
    r = app.router
    r.add_post("/api/console/login", login)
    r.add_post("/api/console/logout", logout)
    r.add_get("/api/console/me", me)
    r.add_get("/api/console/cases", list_cases)
    case = r"/api/console/cases/{case_id:[1-9][0-9]{0,17}}"
    r.add_get(case, get_case)
    r.add_get(case + "/export", export_case)
    r.add_post(case + "/claim", claim)
    r.add_post(case + "/messages", send_message)
    r.add_post(case + "/notes", add_note)
    r.add_post(case + "/release", release)
    r.add_post(case + "/close", close)
    r.add_get("/api/console/canned", canned)
    r.add_get("/api/console/outcomes", outcomes)
    r.add_get("/api/console/events", events)
    r.add_get("/api/console/inbox/set-aside", set_aside)
    r.add_get("/api/chat/updates", chat_updates)
