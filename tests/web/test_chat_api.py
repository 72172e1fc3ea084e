"""POST /api/chat end to end: the web chat's contract, bad input, and what gets stored."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests import peek
from tests.web.conftest import services

Client = TestClient[web.Request, web.Application]


def sid() -> str:
    return "t" + secrets.token_hex(8)


async def chat(client: Client, session: str, **body: Any) -> dict[str, Any]:
    resp = await client.post("/api/chat", json={"session": session, **body})
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data


def texts(data: dict[str, Any]) -> str:
    return "\n".join(r["text"] for r in data["replies"])


async def test_page_and_health(client: Client) -> None:
    page = await client.get("/")
    assert page.status == 200
    assert "text/html" in page.headers["Content-Type"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert (await client.get("/healthz")).status == 200


async def test_first_contact_then_menu_then_job_check(client: Client) -> None:
    s = sid()
    first = await chat(client, s, payload="/start")
    payloads = [b["payload"] for r in first["replies"] for b in r["buttons"]]
    assert payloads == ["privacy_more", "lang:bg", "lang:en", "lang:ru"]
    menu = await chat(client, s, payload="lang:en")
    assert [b["payload"] for b in menu["replies"][-1]["buttons"]][:3] == ["menu:work", "menu:country", "menu:offer"]
    check = await chat(client, s, text="3")
    assert [b["payload"] for b in check["replies"][-1]["buttons"]] == ["jobcheck:yes", "jobcheck:no"]


async def test_urgent_message_opens_a_durable_case(client: Client) -> None:
    s = sid()
    await chat(client, s, payload="/start")
    await chat(client, s, payload="lang:bg")
    data = await chat(client, s, text="v germaniq sme, vzeha ni pasportite i ne ni puskat")
    assert "112" in texts(data) and "+359 2 948 24 04" in texts(data)
    assert "0800 20 100" not in texts(data)  # Bulgarian freephone: does not work from Germany
    svc = services(client)
    person = await svc.store.person("web", s)
    case = await peek.open_case_of(svc.store, person.key)
    assert case is not None
    assert (case.priority, case.status, case.country, case.channel) == ("urgent", "queued", "DE", "web")
    assert "document_retention" in case.signals
    events = await svc.store.case_events(case.id)
    assert events and events[0].kind == "opened"
    transcript = await svc.store.transcript(person.key)
    assert any(m.direction == "in" and m.text and "pasportite" in m.text for m in transcript)


async def test_second_urgent_message_keeps_one_case(client: Client) -> None:
    s = sid()
    await chat(client, s, payload="/start")
    await chat(client, s, text="they took my passport")
    await chat(client, s, text="they beat us")
    svc = services(client)
    person = await svc.store.person("web", s)
    open_cases = [c for c in await svc.store.list_cases() if c.person_key == person.key]
    assert len(open_cases) == 1


async def test_quick_messages_are_answered_in_order(client: Client) -> None:
    s = sid()
    await chat(client, s, payload="/start")
    await chat(client, s, payload="lang:en")
    results = await asyncio.gather(*(chat(client, s, text=t) for t in ("menu", "hello", "menu")))
    assert all(r["replies"] for r in results)
    person = await services(client).store.person("web", s)
    transcript = await services(client).store.transcript(person.key)
    ins = [m for m in transcript if m.direction == "in"]
    outs_after = [m for m in transcript if m.direction == "out"]
    assert len(ins) == 5 and outs_after


async def test_delete_my_data_really_deletes(client: Client) -> None:
    s = sid()
    await chat(client, s, payload="/start")
    await chat(client, s, payload="lang:en")
    await chat(client, s, text="they took my passport")  # a case and messages exist now
    await chat(client, s, text="please delete my data")
    done = await chat(client, s, payload="delete:yes")
    assert done["replies"]
    svc = services(client)
    person = await svc.store.person("web", s)
    assert await peek.open_case_of(svc.store, person.key) is None
    assert await svc.store.transcript(person.key) == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"text": "hi"}, 400, "session"),
        ({"session": "short", "text": "hi"}, 400, "session"),
        ({"session": "abcdefgh12", "text": ""}, 400, "empty"),
        ({"session": "abcdefgh12", "text": "   "}, 400, "empty"),
        ({"session": "abcdefgh12"}, 400, "either"),
        ({"session": "abcdefgh12", "text": "a", "payload": "menu"}, 400, "either"),
        ({"session": "abcdefgh12", "payload": "<script>"}, 400, "payload"),
        ({"session": "abcdefgh12", "text": 5}, 400, "empty"),
    ],
)
async def test_bad_requests_get_a_clear_error(client: Client, body: dict[str, Any], status: int, message: str) -> None:
    resp = await client.post("/api/chat", json=body)
    assert resp.status == status
    assert message in (await resp.json())["error"]


async def test_not_json_and_too_large(client: Client) -> None:
    resp = await client.post("/api/chat", data=b"\xff\xfe not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    big = await client.post("/api/chat", json={"session": "abcdefgh12", "text": "x" * 400_000})
    assert big.status == 413


async def test_long_emoji_and_unknown_payload_get_answers(client: Client) -> None:
    s = sid()
    await chat(client, s, payload="/start")
    await chat(client, s, payload="lang:en")
    long = await chat(client, s, text="word " * 2000)  # 10 KB
    assert "shorter" in texts(long)
    emoji = await chat(client, s, text="😀😀😀")
    assert emoji["replies"]
    unknown = await chat(client, s, payload="nothing:here")
    assert unknown["replies"]
    person = await services(client).store.person("web", s)
    transcript = await services(client).store.transcript(person.key)
    assert any(m.text and m.text.startswith("word word") for m in transcript)  # the long text was kept (cut)
