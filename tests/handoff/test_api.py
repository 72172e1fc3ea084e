"""The console's JSON API through the aiohttp app, on memory + SQLite and on Redis + PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import aiohttp
import pytest

from bot.accounts.auth import login_delay
from bot.handoff.cases import OUTCOMES
from bot.settings import ConsoleSettings

from .conftest import (
    PASSWORD,
    URGENT_EN,
    Client,
    add_user,
    chat,
    handoff_of,
    sid,
    urgent_web_case,
)

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)> они ми взеха паспорта"


async def updates(client: Client, session: str, after: int = 0) -> dict[str, Any]:
    resp = await client.get("/api/chat/updates", params={"session": session, "after": str(after)})
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


async def next_event(resp: aiohttp.ClientResponse, timeout: float = 10) -> tuple[str, dict[str, Any]]:
    """The next Server-Sent Event (name, JSON data), skipping comments."""
    name, data = "", ""
    while True:
        raw = await asyncio.wait_for(resp.content.readline(), timeout)
        if not raw:
            raise EOFError("the event stream ended")
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]
        elif not line and name:
            return name, json.loads(data)


# -- the whole story ---------------------------------------------------------------------------------


async def test_web_chat_takeover_end_to_end(client: Client, mediators: Any) -> None:
    s, case_id = await urgent_web_case(client)
    mira = await mediators()

    status, queue = await mira.get("/api/console/cases?status=queued")
    assert status == 200
    (listed,) = [c for c in queue["cases"] if c["id"] == case_id]
    assert listed["priority"] == "urgent" and listed["channel"] == "web" and listed["country"] == "DE"
    assert listed["reply_window_open"] is True and listed["waiting_seconds"] >= 0
    assert {"document_retention", "confinement"} & set(listed["signals"])
    assert s not in json.dumps(queue)  # never the raw platform id (here: the web chat session)

    # A message while the case waits: the bot still answers, and the mediator will see it.
    assert await chat(client, s, text="please hurry, we are scared")
    status, detail = await mira.get(f"/api/console/cases/{case_id}")
    person_lines = [m["text"] for m in detail["messages"] if m["from"] == "person"]
    assert person_lines == [URGENT_EN, "please hurry, we are scared"]  # with the message that opened the case

    status, claimed = await mira.post(f"/api/console/cases/{case_id}/claim")
    assert status == 200 and claimed["case"]["status"] == "assigned" and claimed["case"]["assignee"] == mira.name
    h = handoff_of(client)
    first = await updates(client, s)
    assert [(m["from"], m["text"]) for m in first["messages"]] == [("bot", h.content.text("handoff_started", "en"))]

    # The bot is silent now; the person's message reaches the mediator.
    assert await chat(client, s, text="are you a real person?") == []
    status, detail = await mira.get(f"/api/console/cases/{case_id}")
    assert detail["messages"][-1]["text"] == "are you a real person?"
    assert detail["messages"][-1]["from"] == "person"

    status, sent = await mira.post(f"/api/console/cases/{case_id}/messages", {"text": "Yes, I am Mira. Are you safe?"})
    assert status == 200 and sent["message"]["delivery_status"] == "sent"
    got = await updates(client, s, first["last"])
    assert [(m["from"], m["text"]) for m in got["messages"]] == [("mediator", "Yes, I am Mira. Are you safe?")]
    assert (await updates(client, s, got["last"]))["messages"] == []
    status, detail = await mira.get(f"/api/console/cases/{case_id}")
    mine = [m for m in detail["messages"] if m["from"] == "mediator"]
    assert mine[0]["delivery_status"] == "delivered"  # the page fetched it

    status, released = await mira.post(f"/api/console/cases/{case_id}/release")
    assert status == 200 and released["case"]["status"] == "released"
    ended = await updates(client, s, got["last"])
    assert [m["text"] for m in ended["messages"]] == [h.content.text("handoff_ended", "en")]
    assert await chat(client, s, text="thank you, what is the hotline number?")  # the bot answers again


async def test_two_mediators_claim_at_once_one_wins(client: Client, mediators: Any) -> None:
    _, case_id = await urgent_web_case(client)
    a, b = await mediators(), await mediators()
    results = await asyncio.gather(
        a.post(f"/api/console/cases/{case_id}/claim"), b.post(f"/api/console/cases/{case_id}/claim")
    )
    assert sorted(status for status, _ in results) == [200, 409]
    assert [body for status, body in results if status == 409] == [{"error": "already taken"}]
    winner = a if results[0][0] == 200 else b
    loser = b if winner is a else a
    assert await loser.post(f"/api/console/cases/{case_id}/claim") == (409, {"error": "already taken"})
    # The loser may not see, answer or move the winner's case.
    assert (await loser.get(f"/api/console/cases/{case_id}"))[0] == 403
    assert (await loser.post(f"/api/console/cases/{case_id}/messages", {"text": "hi"}))[0] == 403
    assert (await loser.post(f"/api/console/cases/{case_id}/release"))[0] == 403
    status, assigned = await loser.get("/api/console/cases?status=assigned")
    assert status == 200 and assigned["cases"] == []
    status, assigned = await winner.get("/api/console/cases?status=assigned")
    assert [c["id"] for c in assigned["cases"]] == [case_id]


# -- security ---------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/console/me"),
    ("GET", "/api/console/cases?status=queued"),
    ("GET", "/api/console/cases/1"),
    ("GET", "/api/console/cases/1/export"),
    ("GET", "/api/console/canned"),
    ("GET", "/api/console/outcomes"),
    ("GET", "/api/console/events"),
    ("POST", "/api/console/logout"),
    ("POST", "/api/console/cases/1/claim"),
    ("POST", "/api/console/cases/1/messages"),
    ("POST", "/api/console/cases/1/notes"),
    ("POST", "/api/console/cases/1/release"),
    ("POST", "/api/console/cases/1/close"),
]


async def test_no_session_is_401_everywhere(client: Client) -> None:
    for method, path in ROUTES:
        resp = await client.request(method, path, json={} if method == "POST" else None)
        assert resp.status == 401, (method, path)
        assert resp.headers["Content-Type"].startswith("application/json")
        assert resp.headers["Cache-Control"] == "no-store"
        assert (await resp.json()) == {"error": "log in first"}
    resp = await client.get("/api/console/me", cookies={"sigurno_console": "forged-token"})
    assert resp.status == 401


async def test_wrong_role_is_403(client: Client, mediators: Any) -> None:
    _, case_id = await urgent_web_case(client)
    editor = await mediators("editor")
    status, me = await editor.get("/api/console/me")
    assert status == 200 and me["user"] == {"username": editor.name, "role": "editor"}
    for path in ("/api/console/cases?status=queued", f"/api/console/cases/{case_id}", "/api/console/canned"):
        assert (await editor.get(path))[0] == 403, path
    status, body = await editor.post(f"/api/console/cases/{case_id}/claim")
    assert status == 403 and "editor" in body["error"]
    mediator = await mediators()
    assert (await mediator.get(f"/api/console/cases/{case_id}/export"))[0] == 403  # admins only
    admin = await mediators("admin")
    status, export = await admin.get(f"/api/console/cases/{case_id}/export")
    assert status == 200 and export["case"]["id"] == case_id and export["messages"]


async def test_missing_or_wrong_csrf_is_403(client: Client, mediators: Any) -> None:
    _, case_id = await urgent_web_case(client)
    mira, zoya = await mediators(), await mediators()
    for token in ("", "not-the-token", zoya.csrf):
        status, body = await mira.post(f"/api/console/cases/{case_id}/claim", csrf=token)
        assert status == 403 and "CSRF" in body["error"]
    assert (await mira.post("/api/console/logout", csrf=""))[0] == 403
    case = await handoff_of(client).store.get_case(case_id)
    assert case is not None and case.status == "queued"  # nothing happened
    assert (await mira.post(f"/api/console/cases/{case_id}/claim"))[0] == 200


async def test_login_cookie_flags_logout_and_disabled_users(client: Client, mediators: Any) -> None:
    mira = await mediators(login=False)
    resp = await mira.login()
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain http here; HTTPS (or console.secure_cookies) adds it
    assert (await mira.get("/api/console/me"))[0] == 200
    assert (await mira.post("/api/console/logout"))[0] == 200
    assert (await mira.get("/api/console/me"))[0] == 401

    assert (await mira.login()).status == 200
    h = handoff_of(client)
    assert await h.repo.set_disabled(mira.name, True)
    assert (await mira.get("/api/console/me"))[0] == 401  # sessions end at once
    assert (await mira.login()).status == 401
    # A login is JSON only (a cross-site form cannot post it).
    async with mira.http.post(
        mira.url("/api/console/login"), data={"username": mira.name, "password": PASSWORD}
    ) as form:
        assert form.status == 415


async def test_secure_cookie_when_configured(app_settings: Any, tmp_path: Any) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.web.app import build_app

    from .conftest import drop_schema

    settings = dataclasses.replace(app_settings, console=dataclasses.replace(app_settings.console, secure_cookies=True))
    try:
        async with TestClient(TestServer(build_app(settings), host="127.0.0.1")) as c:
            name = await add_user(c)
            resp = await c.post("/api/console/login", json={"username": name, "password": PASSWORD})
            assert resp.status == 200 and "Secure" in resp.headers["Set-Cookie"]
    finally:
        if settings.storage.schema:
            await drop_schema(settings.storage.schema)


async def test_failed_logins_make_one_name_and_address_wait_growing_delays(client: Client, mediators: Any) -> None:
    h = handoff_of(client)
    h.auth.settings = dataclasses.replace(h.auth.settings, login_free_failures=3, login_delay_seconds=0.5)
    mira = await mediators(login=False)
    for _ in range(4):  # three free failures, then the fourth makes this (name, address) wait 0.5 s
        assert (await mira.login("wrong password!")).status == 401
    resp = await mira.login()  # even the right password waits now, from this address
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    # Someone failing on purpose elsewhere never locks the mediator out: from another address she gets in.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))) as elsewhere:
        url = mira.url("/api/console/login")
        async with elsewhere.post(url, json={"username": mira.name, "password": PASSWORD}) as other:
            assert other.status == 200
    await asyncio.sleep(0.6)
    assert (await mira.login("wrong password!")).status == 401  # the fifth: the wait doubles to 1 s
    assert (await mira.login()).status == 429
    await asyncio.sleep(1.1)
    assert (await mira.login()).status == 200  # a success clears the count
    assert (await mira.login("wrong password!")).status == 401
    assert (await mira.login()).status == 200
    audit = await h.repo.audit_log()
    failed = [a.detail.get("reason") for a in audit if a.action == "login_failed" and a.actor == mira.name]
    assert failed == ["bad_password"] * 4 + ["rate_limited", "bad_password", "rate_limited", "bad_password"]


def test_login_delays_double_up_to_the_cap() -> None:
    settings = ConsoleSettings(login_free_failures=5, login_delay_seconds=1.0, login_max_delay_seconds=900)
    assert [login_delay(n, settings) for n in range(1, 12)] == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32]
    assert login_delay(30, settings) == 900 and login_delay(10**6, settings) == 900


async def test_login_rate_limit_per_address(client: Client, mediators: Any) -> None:
    h = handoff_of(client)
    if h.settings.storage.redis_url:
        pytest.skip("the per-address bucket in a shared Redis also counts other runs from 127.0.0.1")
    h.auth.settings = dataclasses.replace(h.auth.settings, login_attempts_per_ip=3)
    for i in range(3):
        resp = await client.post("/api/console/login", json={"username": f"nobody{i}", "password": "x" * 12})
        assert resp.status == 401
    mira = await mediators(login=False)
    assert (await mira.login()).status == 429
    unknown = [a for a in await h.repo.audit_log() if a.action == "login_failed"]
    assert [a.detail["reason"] for a in unknown] == ["unknown_user"] * 3 + ["rate_limited"]
    assert all(a.ip == "127.0.0.1" for a in unknown)


async def test_script_in_user_text_comes_back_as_a_plain_json_string(client: Client, mediators: Any) -> None:
    s, case_id = await urgent_web_case(client)
    mira = await mediators()
    assert (await mira.post(f"/api/console/cases/{case_id}/claim"))[0] == 200
    await chat(client, s, text=XSS)
    assert (await mira.post(f"/api/console/cases/{case_id}/notes", {"text": XSS}))[0] == 200
    async with mira.http.get(mira.url(f"/api/console/cases/{case_id}")) as resp:
        assert resp.headers["Content-Type"].startswith("application/json")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        detail = await resp.json()
    assert detail["messages"][-1]["text"] == XSS
    assert detail["notes"][0]["text"] == XSS and detail["notes"][0]["author"] == mira.name


async def test_bad_requests(client: Client, mediators: Any) -> None:
    s, case_id = await urgent_web_case(client)
    mira = await mediators()
    assert (await mira.get("/api/console/cases?status=everything"))[0] == 400
    assert (await mira.get("/api/console/cases/999999"))[0] == 404
    assert (await mira.post(f"/api/console/cases/{case_id}/messages", {"text": "hi"}))[0] == 409  # not claimed
    assert (await mira.post(f"/api/console/cases/{case_id}/close", {"outcome": "other"}))[0] == 409
    assert (await mira.post(f"/api/console/cases/{case_id}/claim"))[0] == 200
    assert (await mira.post(f"/api/console/cases/{case_id}/messages", {"text": "  "}))[0] == 400
    assert (await mira.post(f"/api/console/cases/{case_id}/messages", {"text": "x" * 2001}))[0] == 400
    status, body = await mira.post(f"/api/console/cases/{case_id}/close", {"outcome": "fixed"})
    assert status == 400 and "outcome" in body["error"]
    status, body = await mira.post(f"/api/console/cases/{case_id}/claim")
    assert (status, body) == (409, {"error": "already taken"})
    assert (await client.get("/api/chat/updates", params={"session": "no"})).status == 400
    assert (await client.get("/api/chat/updates", params={"session": s, "after": "-1"})).status == 400
    assert (await updates(client, sid()))["messages"] == []  # an unknown session: nothing


async def test_close_and_admin_powers(client: Client, mediators: Any) -> None:
    _, first = await urgent_web_case(client)
    _, second = await urgent_web_case(client)
    mira, admin = await mediators(), await mediators("admin")
    assert (await mira.post(f"/api/console/cases/{first}/claim"))[0] == 200
    # An admin sees and moves every case; a mediator only their own.
    assert (await admin.get(f"/api/console/cases/{first}"))[0] == 200
    assert (await admin.post(f"/api/console/cases/{first}/messages", {"text": "hi"}))[0] == 409  # not theirs
    status, closed = await mira.post(f"/api/console/cases/{first}/close", {"outcome": "referred_hotline"})
    assert status == 200 and closed["case"]["outcome"] == "referred_hotline"
    status, closed = await admin.post(f"/api/console/cases/{second}/close", {"outcome": "false_alarm"})
    assert status == 200 and closed["case"]["status"] == "closed"
    status, listing = await mira.get("/api/console/cases?status=closed")
    assert [c["id"] for c in listing["cases"]] == [first]
    status, listing = await admin.get("/api/console/cases?status=closed")
    assert {c["id"] for c in listing["cases"]} == {first, second}
    status, outcomes = await mira.get("/api/console/outcomes")
    assert outcomes == {"outcomes": list(OUTCOMES)}


async def test_audit_log_rows(client: Client, mediators: Any) -> None:
    s, case_id = await urgent_web_case(client)
    mira, admin = await mediators(), await mediators("admin")
    await mira.get(f"/api/console/cases/{case_id}")
    await mira.post(f"/api/console/cases/{case_id}/claim")
    await mira.post(f"/api/console/cases/{case_id}/messages", {"text": "hello there"})
    await mira.post(f"/api/console/cases/{case_id}/notes", {"text": "private"})
    await mira.post(f"/api/console/cases/{case_id}/release")
    await admin.get(f"/api/console/cases/{case_id}/export")
    await admin.post(f"/api/console/cases/{case_id}/close", {"outcome": "no_contact"})  # released: final
    await chat(client, s, text="delete my data")
    await chat(client, s, payload="delete:yes")
    rows = await handoff_of(client).repo.audit_log()
    got = [(a.actor, a.action, a.case_id) for a in rows]
    assert (mira.name, "login", None) in got and (admin.name, "login", None) in got
    assert [act for a, act, _ in got if a == mira.name] == ["login", "case_view", "claim", "reply", "note", "release"]
    assert all(c == case_id for a, act, c in got if a == mira.name and act != "login")
    assert (admin.name, "export", case_id) in got
    assert ("person", "erasure", None) in got
    dumped = json.dumps([a.detail for a in rows])
    assert "hello there" not in dumped and "private" not in dumped and s not in dumped


async def test_live_events_without_personal_data(client: Client, mediators: Any) -> None:
    mira = await mediators()
    async with mira.http.get(mira.url("/api/console/events")) as stream:
        assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
        s, case_id = await urgent_web_case(client)
        name, data = await next_event(stream)
        assert name == "case_opened"
        assert data == {
            "type": "case_opened",
            "case_id": case_id,
            "priority": "urgent",
            "country": "DE",
            "channel": "web",
            "status": "queued",
            "change": "opened",
        }
        await mira.post(f"/api/console/cases/{case_id}/claim")
        name, data = await next_event(stream)
        assert (name, data["change"], data["assignee"]) == ("case_updated", "claimed", mira.name)
        await chat(client, s, text="I am still here, near the station")
        name, data = await next_event(stream)
        assert (name, data["case_id"], data["change"]) == ("message", case_id, "in")
        assert "station" not in json.dumps(data) and s not in json.dumps(data)
        await mira.post("/api/console/logout")


async def test_canned_replies(client: Client, mediators: Any) -> None:
    mira = await mediators()
    status, body = await mira.get("/api/console/canned")
    assert status == 200
    items = body["canned"]
    assert {i["lang"] for i in items} == {"bg", "en"}
    keys = {i["key"] for i in items}
    assert len(items) == 2 * len(keys) and all(i["title"] and i["text"] for i in items)


async def test_queue_order(client: Client, mediators: Any) -> None:
    """Queue order: urgent first, then high, then normal; the longest waiting first within each."""
    _, urgent_old = await urgent_web_case(client)
    h = handoff_of(client)
    person = await h.store.person("web", sid(), "en")
    high, _ = await h.store.open_case(person.key, priority="high", signals=[], country=None, channel="web")
    _, urgent_new = await urgent_web_case(client)
    mira = await mediators()
    status, queue = await mira.get("/api/console/cases?status=queued")
    assert status == 200
    assert [c["id"] for c in queue["cases"]] == [urgent_old, urgent_new, high.id]
    assert queue["cases"][0]["waiting_seconds"] >= queue["cases"][1]["waiting_seconds"]
